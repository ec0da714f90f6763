/** Runs fn with the environment variable `name` set to '1' (on) or '0' (off), restored after (data-path switches read at start). */
export async function withSwitch<T>(name: string, on: boolean, fn: () => Promise<T>): Promise<T> {
  const before = process.env[name];
  process.env[name] = on ? '1' : '0';
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}
