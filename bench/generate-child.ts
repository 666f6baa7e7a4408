/** Child process of the generator bench: writes one dataset and prints its throughput and peak RSS. */
import { writeDataset } from '../datasets/index.js';

const [out, skus, days] = process.argv.slice(2);
const t0 = performance.now();
const manifest = await writeDataset(out, { seed: 1, skus: Number(skus), days: Number(days) });
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({
    records: manifest.counts.records,
    bytes: manifest.files.events.bytes,
    seconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
  })}\n`,
);
