/** Time-series charts with uPlot: created once per view, fed new data on every refresh. */
import uPlot from 'uplot'
import { h } from './dom.js'

export interface Series {
  label: string
  /** CSS colour for the line. */
  stroke: string
}

export interface LineChart {
  el: HTMLElement
  set(t: number[], values: number[][]): void
  destroy(): void
}

/** `spanS`: the x axis always shows the last spanS seconds, however few points there are. */
export function lineChart(title: string, unit: string, series: Series[], spanS: number): LineChart {
  const el = h('figure', { class: 'chart' }, h('figcaption', {}, title))
  const target = h('div', {
    class: 'chart-body',
    role: 'img',
    'aria-label': `${title} (${unit}) over the last minutes`
  })
  el.append(target)
  let plot: uPlot | null = null
  const width = () =>
    Math.max(260, Math.floor(target.getBoundingClientRect().width || el.getBoundingClientRect().width || 600))
  const opts = (): uPlot.Options => ({
    width: width(),
    height: 200,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true, range: () => [Date.now() / 1000 - spanS, Date.now() / 1000] },
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }
    },
    axes: [
      { stroke: '#9aa4b2', grid: { stroke: '#263244' }, ticks: { stroke: '#263244' } },
      { stroke: '#9aa4b2', grid: { stroke: '#263244' }, ticks: { stroke: '#263244' }, label: unit, size: 60 }
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.stroke,
        width: 2,
        points: { show: (_u: uPlot, _s: number, i0: number, i1: number) => i1 - i0 < 3, size: 6 }
      }))
    ]
  })
  const onResize = () => plot?.setSize({ width: width(), height: 200 })
  window.addEventListener('resize', onResize)
  return {
    el,
    set(t, values) {
      const data = [t.map((x) => x / 1000), ...values] as uPlot.AlignedData
      if (plot === null) plot = new uPlot(opts(), data, target)
      else plot.setData(data)
    },
    destroy() {
      window.removeEventListener('resize', onResize)
      plot?.destroy()
      plot = null
    }
  }
}
