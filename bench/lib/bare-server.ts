// Scenario (a) of `npm run bench`: the bound. A bare Fastify server doing exactly one
// classic-level put or get per request on the same routes as MecDB (/mec/:key), with the
// same raw-body parser, no versioning, no replication. Run as its own process:
//   node --import tsx bench/lib/bare-server.ts PORT DIR SYNC(0|1)
// Prints "ready <port>" on stdout once it listens.
import Fastify from "fastify";
import { ClassicLevel } from "classic-level";

const [portArg, dir, syncArg] = process.argv.slice(2);
if (portArg === undefined || dir === undefined) {
  process.stderr.write("usage: bare-server.ts PORT DIR [SYNC]\n");
  process.exit(2);
}
const sync = syncArg === "1";
const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: "utf8", valueEncoding: "view" });
await db.open();

const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

app.put<{ Params: { key: string } }>("/mec/:key", async (request, reply) => {
  const body = request.body as Buffer | undefined;
  await db.put(request.params.key, body ?? new Uint8Array(0), { sync });
  return reply.code(200).header("content-length", "0").send();
});
app.get<{ Params: { key: string } }>("/mec/:key", async (request, reply) => {
  const value = await db.get(request.params.key);
  if (value === undefined) return reply.code(404).send();
  return reply.code(200).header("content-type", "text/plain").send(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
});

await app.listen({ host: "127.0.0.1", port: Number(portArg) });
process.stdout.write(`ready ${portArg}\n`);
const stop = async (): Promise<void> => {
  await app.close();
  await db.close();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
