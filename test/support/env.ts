/** Runs fn with the environment variable `name` set to '1' (on) or '0' (off), restored after (data-path switches read at start). */
export async function withSwitch<T>(name: string, on: boolean, fn: () => Promise<T>): Promise<T> {
  const before = setSwitch(name, on ? '1' : '0');
  try {
    return await fn();
  } finally {
    setSwitch(name, before);
  }
}

/** withSwitch for a synchronous fn (a Dataplane constructed in place). */
export function withSwitchSync<T>(name: string, on: boolean, fn: () => T): T {
  const before = setSwitch(name, on ? '1' : '0');
  try {
    return fn();
  } finally {
    setSwitch(name, before);
  }
}

/** Sets (undefined: deletes) `name`; returns what it was. */
function setSwitch(name: string, value: string | undefined): string | undefined {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  return before;
}
