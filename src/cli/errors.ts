// Errors the CLI turns into exit codes: UsageError -> a one-line message on stderr and exit 2.
export class UsageError extends Error {}

/** Exit code set by the command that ran; commander actions store it here. */
export interface CommandOutcome {
  exitCode: number;
}
