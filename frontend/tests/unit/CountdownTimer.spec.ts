// A countdown reads HH:MM:SS under a day (a flash sale lasts hours), with the days in front beyond one.
import { mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import CountdownTimer from '@/components/CountdownTimer.vue'
import { i18n, setLocale } from '@/i18n'

const NOW = Date.parse('2026-12-12T02:00:00Z')

function text(secondsLeft: number): string {
  const until = new Date(NOW + secondsLeft * 1000).toISOString()
  return mount(CountdownTimer, { props: { until }, global: { plugins: [i18n] } }).text()
}

describe('CountdownTimer', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(NOW)
    setLocale('zh-CN')
  })
  afterEach(() => vi.useRealTimers())

  it('shows hours, minutes and seconds in two digits each', () => {
    expect(text(6 * 3600 + 58 * 60 + 35)).toBe('06:58:35')
    expect(text(59 * 60 + 5)).toBe('00:59:05')
    expect(text(0)).toBe('00:00:00')
  })

  it('puts the days in front beyond one', () => {
    expect(text(2 * 86400 + 3600)).toBe('2天 01:00:00')
  })

  it('ticks and says when it is done', async () => {
    const until = new Date(NOW + 2000).toISOString()
    const wrapper = mount(CountdownTimer, { props: { until }, global: { plugins: [i18n] } })
    await vi.advanceTimersByTimeAsync(1000)
    expect(wrapper.text()).toBe('00:00:01')
    await vi.advanceTimersByTimeAsync(1000)
    expect(wrapper.text()).toBe('00:00:00')
    expect(wrapper.emitted('done')).toHaveLength(1)
  })
})
