/**
 * Readable, step-by-step output for the examples: numbered steps, what was created, each event as it arrives,
 * mails as they are received. Colour only on a terminal (and never with NO_COLOR). Tests pass their own `write`
 * to keep the output.
 */

export interface Reporter {
  /** The example's title and one line about it. */
  title(name: string, about: string): void;
  /** A numbered step ("3. Registering the data assets"). */
  step(text: string): void;
  /** A fact under the current step. */
  info(text: string): void;
  /** Something that worked out as expected. */
  ok(text: string): void;
  /** An event received by the example's subscriber. */
  event(type: string, subject: string, detail?: string): void;
  /** Indented lines (a YAML file, a mail body, a log excerpt). */
  block(text: string, maxLines?: number): void;
  /** Something that did not work out. */
  fail(text: string): void;
  /** Elapsed seconds since the reporter was made, for the final line. */
  elapsed(): string;
}

const CODES = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;
type Style = keyof typeof CODES;

export function reporter(to?: (line: string) => void): Reporter {
  const write = to ?? ((l: string) => void process.stdout.write(`${l}\n`));
  const colour = to === undefined && process.stdout.isTTY && !process.env.NO_COLOR;
  const paint = (s: string, ...styles: Style[]) =>
    colour && styles.length ? `\x1b[${styles.map((k) => CODES[k]).join(';')}m${s}\x1b[0m` : s;
  const started = Date.now();
  let n = 0;
  return {
    title(name, about) {
      write('');
      write(paint(`▶ ${name}`, 'bold'));
      write(paint(`  ${about}`, 'dim'));
    },
    step(text) {
      write('');
      write(paint(`${++n}. ${text}`, 'bold', 'cyan'));
    },
    info(text) {
      write(`   ${text}`);
    },
    ok(text) {
      write(`   ${paint('✔', 'green')} ${text}`);
    },
    event(type, subject, detail) {
      const short = type.replace(/^Microsoft\.MachineLearningServices\./, '');
      write(
        `   ${paint('⚡', 'yellow')} ${paint(short, 'yellow', 'bold')} ${paint(subject, 'dim')}${detail ? `  ${detail}` : ''}`,
      );
    },
    block(text, maxLines = 40) {
      const lines = text.replace(/\s+$/, '').split('\n');
      const shown = lines.slice(0, maxLines);
      for (const l of shown) write(paint(`   │ ${l}`, 'dim'));
      if (lines.length > shown.length)
        write(paint(`   │ … (${lines.length - shown.length} more lines)`, 'dim'));
    },
    fail(text) {
      write(`   ${paint('✘', 'red', 'bold')} ${paint(text, 'red')}`);
    },
    elapsed() {
      return `${((Date.now() - started) / 1000).toFixed(1)} s`;
    },
  };
}

/** A reporter that writes nothing (for callers that only want the result). */
export const silent: Reporter = reporter(() => {});
