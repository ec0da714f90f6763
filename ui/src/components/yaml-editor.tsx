/**
 * The candidate's YAML in a plain textarea with a line-number gutter; lines with validation problems are
 * marked in the gutter, and each problem below is a button that puts the cursor on its line and column.
 */
import { useRef } from 'preact/hooks';
import type { ConfigProblem } from '../types.js';

export function YamlEditor({ text, onInput, problems, readOnly = false }: { text: string; onInput: (t: string) => void; problems: ConfigProblem[]; readOnly?: boolean }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLPreElement>(null);
  const lines = text.split('\n').length;
  const bad = new Map<number, string>();
  for (const p of problems) if (p.line !== undefined) bad.set(p.line, `${bad.has(p.line) ? `${bad.get(p.line)}; ` : ''}${p.path}: ${p.message}`);
  const goTo = (line: number, column = 1) => {
    const el = area.current!;
    const before = text.split('\n').slice(0, line - 1).join('\n').length + (line > 1 ? 1 : 0);
    const pos = before + column - 1;
    el.focus();
    el.setSelectionRange(pos, text.indexOf('\n', before) < 0 ? text.length : text.indexOf('\n', before));
    // about 1.4em per line
    el.scrollTop = Math.max(0, (line - 5) * parseFloat(getComputedStyle(el).lineHeight || '18'));
  };
  return (
    <div class="yaml">
      <div class="editor">
        <pre ref={gutter} class="gutter" aria-hidden="true">
          {Array.from({ length: lines }, (_, i) => {
            const msg = bad.get(i + 1);
            return <span class={msg === undefined ? '' : 'bad'} title={msg}>{i + 1}{'\n'}</span>;
          })}
        </pre>
        <textarea ref={area} aria-label="candidate config (YAML)" spellcheck={false} readOnly={readOnly} value={text} wrap="off"
          onInput={(e) => onInput(e.currentTarget.value)}
          onScroll={(e) => { gutter.current!.scrollTop = e.currentTarget.scrollTop; }} data-testid="yaml" />
      </div>
      {problems.length > 0 && (
        <ul class="problems" data-testid="problems" aria-label="validation problems">
          {problems.map((p) => (
            <li>
              {p.line !== undefined ? <button type="button" class="link" onClick={() => goTo(p.line!, p.column)}>line {p.line}{p.column !== undefined ? `, column ${p.column}` : ''}</button> : <span>no line</span>}
              {': '}<code>{p.path}</code>: {p.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A unified diff with added and removed lines coloured. */
export function Diff({ text, testid }: { text: string; testid?: string }) {
  if (text.trim() === '') return <p class="muted" data-testid={testid}>No differences.</p>;
  return (
    <pre class="diff" data-testid={testid}>
      {text.split('\n').map((l) => <span class={l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}>{l}{'\n'}</span>)}
    </pre>
  );
}
