/** The commands' progress bars on stderr, fed by (done, total) callbacks. */
import cliProgress from 'cli-progress';

export interface ProgressBar {
  update(done: number, total: number): void;
  stop(): void;
}

/**
 * A bar "label [████] done/total unit | seconds", started on the first report and stopped when done
 * reaches total; `scale` maps the reported numbers to the shown ones (bytes → MB).
 */
export function progressBar(label: string, unit: string, scale: (n: number) => number = (n) => n): ProgressBar {
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total} ${unit} | {duration}s`, hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update: (done, total) => {
      if (!started) bar.start(scale(total), 0);
      started = true;
      bar.update(scale(done));
      if (done === total) bar.stop();
    },
    stop: () => bar.stop(),
  };
}

/** Bytes as MB with one decimal. */
export const megabytes = (b: number): number => Math.round(b / 1e5) / 10;
