// The mutants of the mutation suite (`npm run mutants`, sim/mutants/run.ts): each one a small
// realistic bug, planted by replacing one exact text of one file (plus, rarely, a matching
// edit elsewhere) in a temporary copy of the repository.
// Rules: the search text must occur exactly once in its file (the runner reports
// "stale: target not found" or "ambiguous" otherwise, so a mutant whose code moved is
// re-targeted, never silently skipped); `tests` lists the vitest files that must go red with
// the bug planted (its unit-level guards); `swarm: false` marks a bug the default swarm cannot
// see by construction (it is in the oracle, a test helper or a production adapter the
// simulator does not run), judged by its tests alone.

export interface Edit {
  readonly file: string;
  readonly search: string;
  readonly replace: string;
}

export interface Mutant extends Edit {
  readonly id: string;
  /** The part of the system the bug is in. */
  readonly area: string;
  readonly description: string;
  /** Further edits applied together with the main one (same rules). */
  readonly also?: readonly Edit[];
  /** Test files that guard this bug: at least one must fail with it planted. */
  readonly tests?: readonly string[];
  /** Passed to vitest as -t, to run only the guarding tests of a slow file. */
  readonly testFilter?: string;
  /** false: not run on the swarm (see the header). */
  readonly swarm?: false;
}

const DVV = "src/core/versioning/dvvset.ts";
const QUORUM = "src/core/coordinator/quorum.ts";
const GET = "src/core/coordinator/get.ts";
const PUT = "src/core/coordinator/put.ts";
const MINT = "src/core/coordinator/mint.ts";
const REPLICA = "src/core/replica/replica.ts";
const AE = "src/core/replica/anti-entropy.ts";
const NODE = "src/core/node.ts";
const TRANSFER = "src/core/replica/transfer.ts";

export const MUTANTS: readonly Mutant[] = [
  // ---- dvvset ----
  {
    id: "dvv-drop-own-siblings",
    area: "dvvset",
    description: "update drops the writing actor's concurrent siblings (those its context does not cover)",
    file: DVV,
    search: "const kept = set.siblings.filter((s) => !covers(context, s.dot));",
    replace: "const kept = set.siblings.filter((s) => !covers(context, s.dot) && s.dot.actor !== actor);",
    tests: ["test/core/versioning/dvvset.test.ts", "test/core/node.test.ts", "test/adapters/http/server.test.ts"],
  },
  {
    id: "dvv-counter-from-context",
    area: "dvvset",
    description: "update mints the next counter from the client's context only, ignoring the replica's clock (re-issues dots)",
    file: DVV,
    search: "const counter = Math.max(counterOf(set.clock, actor), counterOf(context, actor)) + 1;",
    replace: "const counter = counterOf(context, actor) + 1;",
    tests: ["test/core/versioning/dvvset.test.ts"],
  },
  {
    id: "dvv-clock-ignores-context",
    area: "dvvset",
    description: "update does not fold the client's context into the set's clock",
    file: DVV,
    search: "const clock = setEntry(merge(set.clock, context), actor,",
    replace: "const clock = setEntry(set.clock, actor,",
    tests: ["test/core/versioning/dvvset.test.ts"],
  },
  {
    id: "dvv-sync-resurrects",
    area: "dvvset",
    description: "sync keeps a's siblings even when b's clock covers them (a superseded value comes back)",
    file: DVV,
    search: "      if (!covers(b.clock, x!.dot)) out.push(x!); // b never saw it",
    replace: "      out.push(x!); // b never saw it",
    tests: ["test/core/versioning/dvvset.test.ts"],
  },
  // ---- quorum counting ----
  {
    id: "quorum-one-short",
    area: "quorum counting",
    description: "a request counts as reached with one reply fewer than R/W",
    file: QUORUM,
    search: "return this.counted >= this.needed;",
    replace: "return this.counted >= this.needed - 1;",
    tests: ["test/core/coordinator/quorum.test.ts"],
  },
  {
    id: "quorum-counts-strangers",
    area: "quorum counting",
    description: "a reply from a node that is not a target of the request is counted",
    file: QUORUM,
    search: '    if (!this.targets.includes(from)) return "stranger"; // a stale or misrouted reply\n',
    replace: "",
    tests: ["test/core/coordinator/quorum.test.ts"],
  },
  {
    id: "sloppy-no-hint",
    area: "quorum counting (sloppy targets)",
    description: "a fallback target carries no hint, so its copy is stored as a plain object and never handed off",
    file: QUORUM,
    search: "targets.push({ node: f, hint: skipped.shift() ?? null });",
    replace: "targets.push({ node: f, hint: null });",
    tests: ["test/core/coordinator/quorum.test.ts"],
  },
  // ---- read repair ----
  {
    id: "rr-skips-not-found",
    area: "read repair",
    description: "read repair skips repliers that answered not-found (a replica that missed the write stays empty)",
    file: QUORUM,
    search: "replies.filter(([, s]) => s === null || !setsEqual(s, merged))",
    replace: "replies.filter(([, s]) => s !== null && !setsEqual(s, merged))",
    tests: ["test/core/coordinator/quorum.test.ts"],
  },
  {
    id: "rr-drops-hint",
    area: "read repair",
    description: "a read repair sent to a fallback carries no hint (the fallback keeps a stray object)",
    file: GET,
    search: "partition: req.partition, key: req.key, set: bytes, hint });",
    replace: "partition: req.partition, key: req.key, set: bytes, hint: null });",
  },
  // ---- get coordinator ----
  {
    id: "get-answers-first-reply",
    area: "get coordinator",
    description: "the GET answer is the first reply only, not the merge of the R replies",
    file: GET,
    search: "    const merged = mergeReplies(this.ctx.mode, sets);\n    const replicas = req.tally.repliers();",
    replace: "    const merged = mergeReplies(this.ctx.mode, sets.slice(0, 1));\n    const replicas = req.tally.repliers();",
  },
  {
    id: "get-ignores-request-r",
    area: "get coordinator",
    description: "a per-request r is ignored (the configured R is used)",
    file: GET,
    search: "const r = op.r ?? config.r;",
    replace: "const r = config.r;",
  },
  // ---- put coordinator ----
  {
    id: "put-drops-context",
    area: "put coordinator",
    description: "a write forwarded to the minting replica loses its causal context (every write becomes blind)",
    file: PUT,
    search: "context: r.context.size === 0 ? null : encodeClock(r.context),",
    replace: "context: null,",
  },
  {
    id: "put-no-forward-dedup",
    area: "put coordinator",
    description: "the minting replica does not deduplicate forwarded writes by request id (a duplicated message applies the write twice)",
    file: PUT,
    search: "    if (this.seen.has(msg.reqId)) {\n",
    replace: "    if (false as boolean) {\n",
  },
  {
    id: "put-retries-maybe-applied",
    area: "put coordinator",
    description: "a write that may have been applied is retried on the next primary (applied twice under two dots)",
    file: PUT,
    search: "return !result.ok && !result.maybeApplied && !isRefusal(result.error);",
    replace: "return !result.ok && !isRefusal(result.error);",
  },
  {
    id: "mint-ignores-request-w",
    area: "put coordinator (minting replica)",
    description: "a per-request w is ignored by the minting replica (the configured W is used)",
    file: MINT,
    search: "tally: new ReplyTally<true>(nodes, req.w,",
    replace: "tally: new ReplyTally<true>(nodes, this.ctx.config.w,",
  },
  // ---- hinted handoff ----
  {
    id: "handoff-deletes-changed-hint",
    area: "hinted handoff",
    description: "a handed-off hint is deleted even if a newer write merged into it meanwhile",
    file: REPLICA,
    search: "if (!r.ok || held === null || !held.ok || !bytesEqual(held.payload, handedOff)) {",
    replace: "if (!r.ok || held === null || !held.ok) {",
  },
  {
    id: "handoff-runs-once",
    area: "hinted handoff",
    description: "the handoff loop is not re-armed while hints remain (one round per new hint)",
    file: NODE,
    search: "      if (this.replica.hints.size > 0) this.armHandoff();\n    });",
    replace: "    });",
  },
  // ---- anti-entropy ----
  {
    id: "ae-tree-not-updated-on-merge",
    area: "anti-entropy",
    description: "a merged incoming set does not update the anti-entropy tree (its digest goes stale)",
    file: REPLICA,
    search: "          } else {\n            this.trees.update(partition, key, bytes);\n            this.onStored?.(partition, key);\n          }",
    replace: "          } else {\n            this.onStored?.(partition, key);\n          }",
  },
  {
    id: "ae-skips-upper-buckets",
    area: "anti-entropy",
    // Was "the comparison starts at bucket 1": one bucket of 64 held a differing key in almost
    // no seed (0 of 300), so it measured the workload's key count, not the checkers.
    description: "the bucket comparison stops halfway (keys in the upper 32 of 64 buckets are never exchanged)",
    file: AE,
    search: "for (let i = 0; i < BUCKET_COUNT; i++) if ((mine[i] ?? 0) !== (theirs[i] ?? 0)) out.push(i);",
    replace: "for (let i = 0; i < BUCKET_COUNT / 2; i++) if ((mine[i] ?? 0) !== (theirs[i] ?? 0)) out.push(i);",
  },
  {
    id: "ae-never-asks",
    area: "anti-entropy",
    description: "the initiator only sends its versions and never asks for the peer's differing keys",
    file: AE,
    search: "    if (db !== undefined) want.push(k);",
    replace: "",
  },
  // ---- reaping ----
  {
    id: "reap-missing-primary",
    area: "reaping",
    description: "a tombstone is reaped although a primary did not answer the GET",
    file: QUORUM,
    search: "if (!replies.has(p)) return null; // a primary did not answer",
    replace: "if (!replies.has(p)) continue; // a primary did not answer",
    tests: ["test/core/coordinator/quorum.test.ts"],
    // Equivalent for safety by design: a reap is compare-and-reap on each primary and leaves a
    // remnant that keeps the clock, so whatever the silent primary holds either is covered by
    // that clock (superseded anyway) or survives the merge. No history can tell it apart.
    swarm: false,
  },
  {
    id: "reap-not-compared",
    area: "reaping",
    description: "a primary reaps whatever it holds when the reap arrives, not only the tombstone the GET saw (a write that landed since is dropped, and the kept clock covers its dot)",
    file: REPLICA,
    search: "if (!local.ok || local.set === null || !isTombstoneOnly(local.set) || !setsEqual(local.set, expected)) {",
    replace: "if (!local.ok || local.set === null) {",
  },
  {
    id: "reap-forgets-clock",
    area: "reaping",
    description: "reaping deletes the key's clock with its tombstone (a late message resurrects an old value; the actor re-mints counter 1)",
    file: REPLICA,
    search: "const remnant: SiblingSet = { clock: local.set.clock, siblings: [] };",
    replace: "const remnant: SiblingSet = { clock: new Map(), siblings: [] };",
  },
  // ---- failure detector ----
  {
    id: "fd-never-unsuspects",
    area: "failure detector",
    description: "a suspected peer stays suspected after it is heard from again",
    file: "src/core/membership/failure-detector.ts",
    search: "    return this.change(peer, () => this.silent.delete(peer));",
    replace: "    return this.change(peer, () => undefined);",
  },
  {
    id: "fd-suspects-the-living",
    area: "failure detector",
    description: "the silence test is inverted: peers heard from recently are suspected",
    file: "src/core/membership/failure-detector.ts",
    search: "if (nowMs - last > this.suspectAfterMs) out.push(",
    replace: "if (nowMs - last < this.suspectAfterMs) out.push(",
  },
  {
    id: "fd-heartbeat-clears-timeout",
    area: "failure detector (liveness channel)",
    description:
      "a heartbeat clears a request timeout's suspicion (no data-channel round trip needed): a peer whose data channel is dead but whose control channel lives is routed to again after every heartbeat (liveness only: the safety checkers cannot see it)",
    file: "src/core/membership/failure-detector.ts",
    search: "    return this.change(peer, () => this.silent.delete(peer));",
    replace: "    return this.change(peer, () => (this.silent.delete(peer), this.unreachable.delete(peer)));",
    tests: ["test/sim/channels.test.ts", "test/core/liveness.test.ts"],
    testFilter: "dead|heartbeats do not clear",
    swarm: false,
  },
  {
    id: "hb-skipped-for-busy-peers",
    area: "failure detector (liveness channel)",
    description:
      "heartbeats are skipped to a peer that got any other message within the interval, so liveness rides the data channel's backlog and a busy peer is suspected (liveness only: the safety checkers cannot see it)",
    file: NODE,
    search: 'for (const p of this.membership.peers) this.send(p, { type: "heartbeat", from: c.id, boot: hex32(this.bootNonce) });',
    replace: 'for (const p of this.membership.peers) if (this.monoMs - (this.lastSentMs.get(p) ?? -Infinity) >= c.heartbeatIntervalMs) this.send(p, { type: "heartbeat", from: c.id, boot: hex32(this.bootNonce) });',
    also: [
      { file: NODE, search: 'this.effects.push({ kind: "send", to, bytes: encodeMessage(msg) });', replace: 'this.lastSentMs.set(to, this.monoMs);\n    this.effects.push({ kind: "send", to, bytes: encodeMessage(msg) });' },
      { file: NODE, search: "  private handoffArmed = false;", replace: "  private handoffArmed = false;\n  private readonly lastSentMs = new Map<NodeId, number>();" },
    ],
    tests: ["test/sim/channels.test.ts", "test/core/liveness.test.ts"],
    testFilter: "busy|heartbeats go to every peer",
    swarm: false,
  },
  // ---- ring ----
  {
    id: "ring-pref-repeats-owner",
    area: "ring (preference lists)",
    description: "the preference list does not skip owners already in it (a node can be two of a key's N primaries)",
    file: "src/core/ring/ring.ts",
    search: "    if (!seen.has(owner)) {\n      seen.add(owner);\n      walk.push(owner);\n    }",
    replace: "    if (!seen.has(owner) || walk.length < n) {\n      seen.add(owner);\n      walk.push(owner);\n    }",
    tests: ["test/core/ring/ring.test.ts"],
  },
  {
    id: "ring-pref-shifted",
    area: "ring (preference lists)",
    description: "the preference walk starts one partition late (every node agrees, but the key's owner is not its first primary)",
    file: "src/core/ring/ring.ts",
    search: "const owner = ring.owners[(partition + i) % P]!;",
    replace: "const owner = ring.owners[(partition + i + 1) % P]!;",
    tests: ["test/core/ring/ring.test.ts"],
  },
  // ---- request ids ----
  {
    id: "reqid-no-boot-nonce",
    area: "request ids",
    description: "request ids omit the boot nonce (a reply to a request from before a restart can match a new one)",
    file: NODE,
    search: "newReqId: () => `${this.config.id}/${hex32(this.bootNonce)}/${this.reqSeq++}`,",
    replace: "newReqId: () => `${this.config.id}/${this.reqSeq++}`,",
  },
  {
    id: "reqid-reused",
    area: "request ids",
    description: "the request sequence number is not advanced (every request of a boot gets the same id)",
    file: NODE,
    search: "newReqId: () => `${this.config.id}/${hex32(this.bootNonce)}/${this.reqSeq++}`,",
    replace: "newReqId: () => `${this.config.id}/${hex32(this.bootNonce)}/${this.reqSeq}`,",
  },
  {
    id: "msg-acks-not-replies",
    area: "request ids (replies)",
    description: "isReplyType does not count -ack messages as replies",
    file: "src/core/messages.ts",
    search: 'return type.endsWith("-reply") || type.endsWith("-ack");',
    replace: 'return type.endsWith("-reply");',
    tests: ["test/core/messages.test.ts"],
  },
  // ---- determinism (the guard must see each of these) ----
  {
    id: "det-globalthis-math-random",
    area: "determinism",
    description: "the anti-entropy shuffle uses globalThis.Math.random() instead of the node's PRNG",
    file: "src/core/replica/ae-exchange.ts",
    search: "const j = this.ctx.rng.nextInt(i + 1);",
    replace: "const j = Math.floor(globalThis.Math.random() * (i + 1));",
    tests: ["test/core/determinism-guard.test.ts"],
  },
  {
    id: "det-destructured-random",
    area: "determinism",
    description: "the anti-entropy shuffle uses `const { random } = Math`",
    file: "src/core/replica/ae-exchange.ts",
    search: "const j = this.ctx.rng.nextInt(i + 1);",
    replace: "const { random } = Math;\n        const j = Math.floor(random() * (i + 1));",
    tests: ["test/core/determinism-guard.test.ts"],
  },
  {
    id: "det-computed-date",
    area: "determinism",
    description: "a written timestamp comes from globalThis[\"Date\"].now() instead of the input's time",
    file: REPLICA,
    search: "timestamp: nanosFromMillis(Math.max(0, this.ctx.now())) };",
    replace: "timestamp: nanosFromMillis(Math.max(0, (globalThis[\"Date\"] as DateConstructor).now())) };",
    tests: ["test/core/determinism-guard.test.ts"],
  },
  {
    id: "det-reflect-process",
    area: "determinism",
    // Was an environment variable read through Reflect: both runs of a seed share one
    // environment, so no trace could differ (the static guard alone could see it). Re-targeted
    // to an ambient read whose value differs between runs: the process's high-resolution clock.
    description: "a written timestamp comes from the process's clock read through Reflect.get(globalThis, \"process\")",
    file: REPLICA,
    search: "timestamp: nanosFromMillis(Math.max(0, this.ctx.now())) };",
    replace: "timestamp: (Reflect.get(globalThis, \"process\") as { hrtime: { bigint(): bigint } }).hrtime.bigint() };",
    tests: ["test/core/determinism-guard.test.ts"],
  },
  // ---- the oracle and the tests' own helpers (not core bugs: judged by their tests) ----
  {
    id: "oracle-lost-write-dot-only",
    area: "oracle (lost-write checker)",
    description: "the lost-write checker matches a surviving write by its dot alone, ignoring the value",
    file: "sim/checkers/lost-writes.ts",
    search: "if (present(a.key).has(`${dotKey(a.dot)} ${a.writeId}`)) continue;",
    replace: "if ([...present(a.key)].some((p) => p.startsWith(`${dotKey(a.dot!)} `))) continue;",
    tests: ["test/sim/checkers.test.ts"],
    swarm: false,
  },
  {
    id: "oracle-lost-write-any-node",
    area: "oracle (lost-write checker)",
    description: "the lost-write checker accepts a write held by any node, not only by the key's primaries",
    file: "sim/checkers/lost-writes.ts",
    search: "for (const node of run.primariesOf(key)) {",
    replace: "for (const node of run.final.keys()) {",
    tests: ["test/sim/checkers.test.ts"],
    swarm: false,
  },
  {
    id: "vclock-compare-on-timestamps",
    area: "vclock",
    // descends/compare are not on the node's path (the replicas decide with dvvset's dot
    // coverage, `covers`); only `mec vclock compare` and clients use them, so the swarm cannot
    // see this one. vclock-merge-on-timestamps is the timestamp bug in the code the node runs.
    description: "descends lets a larger timestamp outweigh a smaller counter on the same actor (not on the node's path: only `mec vclock compare` uses it)",
    file: "src/core/versioning/vclock.ts",
    search: "    if (counterOf(a, actor) < entry.counter) return false;",
    replace: "    if (counterOf(a, actor) < entry.counter && (a.get(actor)?.timestamp ?? 0n) <= entry.timestamp) return false;",
    tests: ["test/core/versioning/vclock.test.ts"],
    swarm: false,
  },
  {
    id: "vclock-merge-on-timestamps",
    area: "vclock",
    description: "merge keeps the entry with the later timestamp, not the larger counter (a clock that jumped back makes a merged clock forget events)",
    file: "src/core/versioning/vclock.ts",
    search: "  if (x.counter !== y.counter) return x.counter > y.counter ? x : y;\n  return x.timestamp >= y.timestamp ? x : y;",
    replace: "  if (x.timestamp !== y.timestamp) return x.timestamp > y.timestamp ? x : y;\n  return x.counter >= y.counter ? x : y;",
    tests: ["test/core/versioning/vclock.test.ts"],
  },
  {
    id: "codec-header-key-order",
    area: "X-Mec-Vclock codec",
    description: "the header writes Timestamp before Counter (the decoder accepts either order, so a round trip hides it; the original MecDB's bytes differ)",
    file: "src/core/versioning/codec.ts",
    search: '    writeStr(w, "Counter");\n    writeUintSmallest(w, entry.counter);\n    writeStr(w, "Timestamp");\n    w.byte(0xcf);\n    w.uint64(entry.timestamp);',
    replace: '    writeStr(w, "Timestamp");\n    w.byte(0xcf);\n    w.uint64(entry.timestamp);\n    writeStr(w, "Counter");\n    writeUintSmallest(w, entry.counter);',
    tests: ["test/adapters/http/server.test.ts"],
    swarm: false,
  },
  // ---- ownership handoff (membership) ----
  {
    id: "transfer-forgets-dirty",
    area: "ownership handoff",
    description: "the sender does not note keys written during a transfer, so a write it acknowledged after the fold never reaches the new primary before cut-over",
    file: TRANSFER,
    search: "for (const a of this.active.values()) if (a.plan.partition === partition) a.dirty.add(key);",
    replace: "void partition;",
    tests: ["test/core/membership/membership.test.ts"],
  },
  {
    id: "transfer-done-on-any-ack",
    area: "ownership handoff",
    description: "the sender completes a transfer on the ack of any batch with nothing dirty, not only the last one (cut-over with objects still queued)",
    file: TRANSFER,
    search: "if (last && a.dirty.size === 0) {",
    replace: "if (a.dirty.size === 0) {",
    tests: ["test/core/membership/membership.test.ts"],
  },
  {
    id: "transfer-acks-on-receipt",
    area: "ownership handoff",
    description: "the receiver acknowledges a batch when it arrives, before its merges are durable (a crash then loses objects the sender counts as handed off)",
    file: TRANSFER,
    search: "    if (pending === 0) return finish();\n    for (const [key, bytes] of msg.objects) {",
    replace: "    finish();\n    if (pending === 0) return;\n    for (const [key, bytes] of msg.objects) {",
    tests: ["test/core/membership/membership.test.ts"],
  },
  {
    id: "zmq-ignores-start-peers",
    area: "ZeroMQ transport",
    description: "the transport ignores the peers it is given at start (connects only on first send)",
    file: "src/adapters/zmq-transport.ts",
    search: "      for (const peer of opts.peers ?? []) {",
    replace: "      for (const peer of [] as string[]) {",
    tests: ["test/adapters/zmq-transport.test.ts"],
    swarm: false,
  },
  {
    id: "level-done-twice",
    area: "LevelDB storage",
    description: "a completed read calls its callback twice",
    file: "src/adapters/level-storage.ts",
    search: "for (const r of batch) r.done(r.result);",
    replace: "for (const r of batch) { r.done(r.result); r.done(r.result); }",
    tests: ["test/adapters/level-storage.test.ts"],
    swarm: false,
  },
  {
    id: "level-wipes-on-open",
    area: "LevelDB storage",
    description: "opening a root wipes it (a restarted node boots empty; read repair and anti-entropy hide it)",
    file: "src/adapters/level-storage.ts",
    search: "      await db.open({ createIfMissing: true });",
    replace: "      await db.open({ createIfMissing: true });\n      await db.clear();",
    tests: ["test/cluster/cluster.test.ts"],
    testFilter: "SIGKILL",
    swarm: false,
  },
];
