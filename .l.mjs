// Lists every function/method/arrow longer than MIN lines under the given dirs.
import ts from 'typescript';
import fs from 'node:fs';
import path from 'node:path';
const MIN = Number(process.env.MIN ?? 80);
const dirs = process.argv.slice(2);
const files = [];
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
  const p = path.join(d, e.name);
  if (e.isDirectory()) { if (e.name !== 'node_modules') walk(p); }
  else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) files.push(p); } };
dirs.forEach((d) => (fs.statSync(d).isDirectory() ? walk(d) : files.push(d)));
const rows = [];
for (const f of files) {
  const src = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
  const visit = (n) => {
    if (ts.isFunctionLike(n) && n.body) {
      const a = src.getLineAndCharacterOfPosition(n.getStart()).line + 1;
      const b = src.getLineAndCharacterOfPosition(n.end).line + 1;
      let name = n.name?.getText?.() ?? '';
      if (!name && ts.isVariableDeclaration(n.parent)) name = n.parent.name.getText();
      if (!name && ts.isPropertyAssignment(n.parent)) name = n.parent.name.getText();
      if (!name) name = '<anon>';
      if (b - a + 1 > MIN) rows.push([b - a + 1, `${f}:${a}`, name]);
    }
    ts.forEachChild(n, visit);
  };
  visit(src);
}
rows.sort((x, y) => y[0] - x[0]);
for (const r of rows) console.log(String(r[0]).padStart(4), r[2].padEnd(32), r[1]);
