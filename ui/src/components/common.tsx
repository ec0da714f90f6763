/** Small pieces every page uses: a status pill, an error line, a loading line, a select of options. */
import type { ComponentChildren } from 'preact';

export function Pill({ cls, children }: { cls: string; children: ComponentChildren }) {
  return <span class={`pill ${cls}`}>{children}</span>;
}

export function Failed({ error }: { error: Error | undefined }) {
  return error === undefined ? null : <p class="error" role="alert">{error.message}</p>;
}

export function Loading({ what }: { what: string }) {
  return <p class="muted">Loading {what}…</p>;
}

/** Which routers answered a fan-out question, and why the others did not. */
export function RouterAnswers({ routers }: { routers: Record<string, string> }) {
  const bad = Object.entries(routers).filter(([, s]) => s !== 'ok');
  if (bad.length === 0) return null;
  return <p class="notice">{bad.map(([r, why]) => `${r}: ${why}`).join('; ')}</p>;
}

export function Field({ label, children }: { label: string; children: ComponentChildren }) {
  return <label class="field"><span>{label}</span>{children}</label>;
}
