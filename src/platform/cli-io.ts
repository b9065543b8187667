// Where a command-line use case writes (`firebreak catalog …`, `firebreak workflows …`): the process's streams,
// or, in tests, strings collected in memory.

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
