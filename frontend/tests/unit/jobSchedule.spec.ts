// A job's schedule reads in words and in Beijing time, in both languages; the next run is shown in Beijing time.
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import JobSchedule from '@/components/JobSchedule.vue'
import { i18n, setLocale } from '@/i18n'

function text(schedule: string | null, nextRunAt: string | null = null): string {
  return mount(JobSchedule, { props: { schedule, nextRunAt }, global: { plugins: [i18n] } }).text()
}

describe('JobSchedule', () => {
  it('puts the common cron shapes in words', () => {
    expect(text('*/5 * * * *')).toBe('每 5 分钟')
    expect(text('0 3 * * *')).toBe('每天 03:00（北京时间）')
    expect(text('30 * * * *')).toBe('每小时第 30 分')
    expect(text('0 2 * * 1')).toBe('cron 0 2 * * 1（北京时间）')
    expect(text(null)).toBe('仅手动运行')
  })

  it('speaks English too', () => {
    setLocale('en')
    expect(text('0 4 * * *')).toBe('Daily at 04:00 (Beijing time)')
    expect(text('*/30 * * * *')).toBe('Every 30 minutes')
  })

  it('shows the next run in Beijing time', () => {
    // 19:00 UTC is 03:00 the next day in Beijing.
    expect(text('0 3 * * *', '2026-11-25T19:00:00Z')).toContain('2026/11/26 03:00')
  })

  it('keeps the cron expression as a hint', () => {
    const wrapper = mount(JobSchedule, { props: { schedule: '0 3 * * *', nextRunAt: null }, global: { plugins: [i18n] } })
    expect(wrapper.get('[data-testid="job-schedule"]').attributes('title')).toBe('cron 表达式（北京时间）：0 3 * * *')
  })
})
