// An ECharts instance bound to an element (tree-shaken through echarts/core: bar and line charts).
import { onBeforeUnmount, onMounted, watch, type Ref } from 'vue'
import * as echarts from 'echarts/core'
import { BarChart, LineChart } from 'echarts/charts'
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components'
import { CanvasRenderer } from 'echarts/renderers'

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer])

/**
 * Draw `option()` into `el` once mounted, again whenever what it reads changes (props, locale…),
 * resize with the element and dispose on unmount.
 */
export function useEChart(el: Ref<HTMLElement | null>, option: () => echarts.EChartsCoreOption) {
  let chart: echarts.ECharts | null = null
  let observer: ResizeObserver | null = null

  function render(value: echarts.EChartsCoreOption) {
    chart?.setOption(value, true)
  }

  onMounted(() => {
    if (!el.value) return
    chart = echarts.init(el.value)
    render(option())
    observer = new ResizeObserver(() => chart?.resize())
    observer.observe(el.value)
  })
  watch(option, render)
  onBeforeUnmount(() => {
    observer?.disconnect()
    chart?.dispose()
    chart = null
  })
}
