import { onBeforeUnmount } from 'vue'

/**
 * Call `step` again every `ms` while `wanted()` holds (checked after each step and by `schedule()`), never while
 * the browser tab is hidden (it catches up when it is shown again) nor after the component is unmounted.
 * Call `schedule()` after loading something that may need watching.
 */
export function usePolling(step: () => Promise<unknown>, wanted: () => boolean, ms = 2000) {
  let timer: ReturnType<typeof setTimeout> | undefined
  let alive = true

  function stop() {
    clearTimeout(timer)
    timer = undefined
  }

  function schedule() {
    stop()
    if (alive && wanted() && document.visibilityState !== 'hidden') timer = setTimeout(tick, ms)
  }

  async function tick() {
    stop()
    try {
      await step()
    } catch {
      return // the step reports its own errors; do not repeat a failing call every few seconds
    }
    schedule()
  }

  function onVisibility() {
    if (document.visibilityState === 'hidden') stop()
    else if (wanted()) tick()
  }
  document.addEventListener('visibilitychange', onVisibility)

  onBeforeUnmount(() => {
    alive = false
    stop()
    document.removeEventListener('visibilitychange', onVisibility)
  })

  return { schedule, stop }
}
