/**
 * Declaring Prometheus metrics in one registry by name, help and labels (issue 16: the request
 * recorder, the metrics plugin and the upstream clients each spelled out the same prom-client
 * options). A metric is exported by the registry it is declared in, so nothing else is kept.
 */
import client from 'prom-client'

export function metricsIn(registry: client.Registry) {
  const registers = [registry]
  return {
    counter: <T extends string>(name: string, help: string, labelNames: readonly T[] = []) =>
      new client.Counter<T>({ name, help, labelNames, registers }),
    gauge: <T extends string>(name: string, help: string, labelNames: readonly T[] = []) =>
      new client.Gauge<T>({ name, help, labelNames, registers }),
    histogram: <T extends string>(name: string, help: string, labelNames: readonly T[], buckets: number[]) =>
      new client.Histogram<T>({ name, help, labelNames, buckets, registers })
  }
}
