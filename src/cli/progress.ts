/**
 * A one-line note of what a slow step waits for: written once the step has taken `afterMs`, erased
 * (carriage return, clear to end of line) when it ends, so that a terminal is left as if it had
 * never been there. Only for a terminal: a pipe or a file would keep the line.
 */
export function progressNote(write: (s: string) => void, afterMs: number): (what: string) => () => void {
  return (what) => {
    let shown = false;
    const timer = setTimeout(() => {
      shown = true;
      write(`… ${what}`);
    }, afterMs);
    return () => {
      clearTimeout(timer);
      if (shown) write('\r\x1b[K');
    };
  };
}
