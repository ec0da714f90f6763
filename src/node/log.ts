/**
 * One line per event that matters: `<time> <node> <event> key=value ...` (or one JSON object per line
 * with --log-format json). Session events are rate-limited so a busy router cannot flood its log:
 * beyond `sessionLinesPerSecond` in one second they are counted and summarised in one line.
 */
export type LogFormat = 'text' | 'json';
export type LogFields = Record<string, string | number | boolean | undefined>;

export class NodeLog {
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly node: string,
    private readonly format: LogFormat = 'text',
    private readonly write: (line: string) => void = (l) => process.stdout.write(l + '\n'),
    private readonly sessionLinesPerSecond = 20,
  ) {}

  info(event: string, fields: LogFields = {}): void {
    const time = new Date().toISOString();
    if (this.format === 'json') {
      this.write(JSON.stringify({ time, node: this.node, event, ...fields }));
      return;
    }
    const kv = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : v}`)
      .join(' ');
    this.write(`${time} ${this.node} ${event}${kv ? ' ' + kv : ''}`);
  }

  /** A session event, subject to the rate limit. */
  session(event: string, fields: LogFields): void {
    if (this.sessionLine()) this.info(event, fields);
  }

  /**
   * Takes a session event's place under the rate limit: true when its line is to be written (then write it
   * with info()), false when it is counted as suppressed. Lets a caller skip building the fields of a line
   * that is not written (nearly every one at thousands of sessions a second).
   */
  sessionLine(): boolean {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      if (this.suppressed > 0) this.info('log.suppressed', { sessionEvents: this.suppressed, perSecondLimit: this.sessionLinesPerSecond });
      this.windowStart = now;
      this.inWindow = 0;
      this.suppressed = 0;
    }
    if (this.inWindow++ < this.sessionLinesPerSecond) return true;
    this.suppressed++;
    return false;
  }
}
