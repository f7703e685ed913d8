/**
 * A one-line progress indicator on stderr while a command waits, redrawn in place. Only on a terminal: in a
 * pipe or a log, carriage returns and frames would be noise, so there it writes nothing at all.
 */
export interface Spinner {
  update(text: string): void;
  stop(): void;
}

const FRAMES = ['|', '/', '-', '\\'];

export function startSpinner(text: string, stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (!stream.isTTY) return { update: () => undefined, stop: () => undefined };
  const started = Date.now();
  let label = text;
  let frame = 0;
  let stopped = false;
  const draw = () => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${label} (${seconds} s)`);
  };
  draw();
  const timer = setInterval(draw, 100);
  return {
    update: (next) => {
      label = next;
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
