// Fault schedules with node names instead of indexes, for people: `{"kind":"crash","node":"n3"}`
// rather than `{"kind":"crash","node":20,"peer":61,"mask":1234}`. A schedule stores indexes
// (taken modulo the cluster size, so shrinking keeps any value valid); this module resolves
// them against the cluster's members (n1..nK) to the node, peer and partition sides they
// really mean, drops the fields an episode kind ignores, and turns such a named schedule
// back into one that replays identically (`--schedule` accepts both forms).
import { busyExtraMs, parseSchedule, type Episode, type EpisodeKind, type FaultSchedule } from "../faults.ts";

interface NamedEpisode {
  readonly atMs: number;
  readonly durMs: number;
  readonly kind: EpisodeKind;
  readonly node?: string;
  readonly peer?: string;
  /** Partition / bridge: the two sides. */
  readonly sides?: readonly (readonly string[])[];
  /** Power loss / outage: strikes right after the next acknowledged write, at the latest minter. */
  readonly aimed?: boolean;
  /** Channel faults: every link of node, or the pair node <-> peer (mask bit 0). */
  readonly scope?: "node" | "pair";
  /** data-busy: the backlog data messages wait (busyExtraMs of the mask). */
  readonly backlogMs?: number;
}

interface NamedSchedule {
  readonly dropRate: number;
  readonly dupRate: number;
  readonly episodes: readonly NamedEpisode[];
}

/** The members of a cluster of `size` nodes, as the simulator names them. */
export function memberNames(size: number): string[] {
  return Array.from({ length: size }, (_, i) => `n${i + 1}`);
}

function nodeOf(members: readonly string[], index: number): string {
  return members[index % members.length]!;
}

function peerOf(members: readonly string[], ep: Episode): string {
  const m = members.length;
  const a = ep.node % m;
  return members[(a + 1 + (ep.peer % Math.max(1, m - 1))) % m]!;
}

function sidesOf(members: readonly string[], mask: number): string[][] {
  const sides: string[][] = [[], []];
  members.forEach((n, i) => sides[(mask >> i) & 1]!.push(n));
  return sides;
}

export function nameEpisode(members: readonly string[], ep: Episode): NamedEpisode {
  const base = { atMs: ep.atMs, durMs: ep.durMs, kind: ep.kind };
  switch (ep.kind) {
    case "crash":
    case "machine-crash":
    case "wipe":
    case "pause":
    case "isolate":
      return { ...base, node: nodeOf(members, ep.node) };
    case "one-way":
    case "clog":
      return { ...base, node: nodeOf(members, ep.node), peer: peerOf(members, ep) };
    case "partition":
      return { ...base, sides: sidesOf(members, ep.mask) };
    case "bridge":
      return { ...base, node: nodeOf(members, ep.node), sides: sidesOf(members, ep.mask) };
    case "power-loss":
    case "outage":
      return { ...base, node: nodeOf(members, ep.node), aimed: ep.mask % 4 !== 3 };
    case "data-cut":
    case "control-cut":
    case "data-busy":
      return {
        ...base,
        node: nodeOf(members, ep.node),
        ...(ep.mask % 2 === 1 ? { peer: peerOf(members, ep), scope: "pair" as const } : { scope: "node" as const }),
        ...(ep.kind === "data-busy" ? { backlogMs: busyExtraMs(ep.mask) } : {}),
      };
  }
}

export function nameSchedule(members: readonly string[], s: FaultSchedule): NamedSchedule {
  return { dropRate: s.dropRate, dupRate: s.dupRate, episodes: s.episodes.map((e) => nameEpisode(members, e)) };
}

/** One line per episode, e.g. `e2 crash n3 at +1200 ms for 800 ms`. */
export function describeEpisode(members: readonly string[], ep: Episode, index: number): string {
  const n = nameEpisode(members, ep);
  let what: string = n.kind;
  if (n.sides !== undefined) what += ` ${n.sides.map((s) => s.join(",") || "-").join(" | ")}`;
  if (n.kind === "bridge") what += ` (bridge ${n.node})`;
  else if (n.node !== undefined && n.kind !== "power-loss") what += ` ${n.node}`;
  if (n.peer !== undefined) what += n.kind === "one-way" ? ` -/-> ${n.peer}` : ` <-> ${n.peer}`;
  if (n.aimed !== undefined) what += n.aimed ? " (aimed at the latest write)" : "";
  if (n.backlogMs !== undefined) what += ` (+${n.backlogMs} ms)`;
  return `e${index + 1} ${what} at +${n.atMs} ms for ${n.durMs} ms`;
}

/**
 * Turns a parsed --schedule value that may use names (node: "n3", peer: "n1", sides, aimed)
 * into the index form parseSchedule validates. Numbers pass through unchanged. Returns an
 * error message for an unknown name.
 */
function unnameSchedule(raw: unknown, members: readonly string[]): unknown {
  if (typeof raw !== "object" || raw === null || !Array.isArray((raw as { episodes?: unknown }).episodes)) return raw;
  const r = raw as Record<string, unknown>;
  const episodes = (r["episodes"] as unknown[]).map((e, i) => {
    if (typeof e !== "object" || e === null) return e;
    const o = { ...(e as Record<string, unknown>) };
    const index = (k: string): void => {
      const v = o[k];
      if (typeof v !== "string") return;
      const j = members.indexOf(v);
      if (j < 0) throw new Error(`--schedule: episodes[${i}].${k}: no node ${JSON.stringify(v)} (members: ${members.join(", ")})`);
      o[k] = j;
    };
    index("node");
    if (typeof o["peer"] === "string") {
      const a = typeof o["node"] === "number" ? o["node"] % members.length : 0;
      const j = members.indexOf(o["peer"]);
      if (j < 0 || j === a) throw new Error(`--schedule: episodes[${i}].peer: ${JSON.stringify(o["peer"])} is not another member (members: ${members.join(", ")})`);
      o["peer"] = (j - a + members.length) % members.length - 1;
    }
    if (o["sides"] !== undefined) {
      const sides = o["sides"];
      if (!Array.isArray(sides) || sides.length !== 2 || !sides.every((s) => Array.isArray(s))) throw new Error(`--schedule: episodes[${i}].sides must be two lists of node names`);
      let mask = 0;
      for (const n of sides[1] as unknown[]) {
        const j = members.indexOf(String(n));
        if (j < 0) throw new Error(`--schedule: episodes[${i}].sides: no node ${JSON.stringify(n)}`);
        mask |= 1 << j;
      }
      for (const n of sides[0] as unknown[]) if (!members.includes(String(n))) throw new Error(`--schedule: episodes[${i}].sides: no node ${JSON.stringify(n)}`);
      delete o["sides"];
      o["mask"] = mask;
    }
    if (o["scope"] !== undefined) {
      if (o["scope"] !== "node" && o["scope"] !== "pair") throw new Error(`--schedule: episodes[${i}].scope must be "node" or "pair"`);
      const backlog = o["backlogMs"] ?? 100;
      if (typeof backlog !== "number" || !Number.isInteger(backlog / 100) || backlog < 100 || backlog > 4000) throw new Error(`--schedule: episodes[${i}].backlogMs must be a multiple of 100 in [100, 4000]`);
      o["mask"] = (o["scope"] === "pair" ? 1 : 0) | ((backlog / 100 - 1) << 1);
      delete o["scope"];
      delete o["backlogMs"];
    }
    if (o["aimed"] !== undefined) {
      if (typeof o["aimed"] !== "boolean") throw new Error(`--schedule: episodes[${i}].aimed must be true or false`);
      o["mask"] = o["aimed"] ? 0 : 3;
      delete o["aimed"];
    }
    return o;
  });
  return { ...r, episodes };
}

/** A schedule with episode `index` (0-based) removed, or moved by shiftMs (never before 0). */
export function editSchedule(s: FaultSchedule, index: number, change: { readonly remove: true } | { readonly shiftMs: number }): FaultSchedule {
  if (!Number.isInteger(index) || index < 0 || index >= s.episodes.length) throw new RangeError(`no episode e${index + 1} (the schedule has ${s.episodes.length})`);
  const episodes =
    "remove" in change
      ? s.episodes.filter((_, i) => i !== index)
      : s.episodes.map((e, i) => (i === index ? { ...e, atMs: Math.max(0, e.atMs + change.shiftMs) } : e));
  return { ...s, episodes };
}

/** Parses --schedule text in either form (indexes or names) for a cluster with these members. */
export function parseNamedSchedule(text: string, members: readonly string[]): FaultSchedule | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `--schedule is not JSON: ${(err as Error).message}`;
  }
  try {
    return parseSchedule(JSON.stringify(unnameSchedule(raw, members)));
  } catch (err) {
    return (err as Error).message;
  }
}
