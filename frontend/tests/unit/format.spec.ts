import { describe, expect, it } from 'vitest'
import { setLocale } from '@/i18n'
import {
  addressLine,
  formatDate,
  formatDateTime,
  formatDuration,
  isoToShanghaiWallTime,
  orDash,
  parseApiTime,
  shanghaiWallTimeToIso,
} from '@/utils/format'

describe('times', () => {
  it('reads a zone-less API time as UTC and shows it in Beijing time', () => {
    expect(parseApiTime('2026-03-01T16:30:00').toISOString()).toBe('2026-03-01T16:30:00.000Z')
    expect(formatDateTime('2026-03-01T16:30:00')).toBe('2026/03/02 00:30:00')
    expect(formatDate('2026-03-01T16:30:00Z')).toBe('2026/03/02')
    expect(formatDateTime(null)).toBe('—')
    expect(formatDateTime('not a time')).toBe('not a time')
  })

  it('follows the language', () => {
    setLocale('en')
    expect(formatDateTime('2026-03-01T16:30:00Z')).toBe('03/02/2026, 00:30:00')
  })

  it('turns a picked Beijing wall time into an instant and back', () => {
    const iso = shanghaiWallTimeToIso('2026-03-02 08:00:00')
    expect(iso).toBe('2026-03-02T08:00:00+08:00')
    expect(new Date(iso as string).toISOString()).toBe('2026-03-02T00:00:00.000Z')
    expect(isoToShanghaiWallTime('2026-03-02T00:00:00Z')).toBe('2026-03-02 08:00:00')
    expect(isoToShanghaiWallTime('2026-03-01T16:00:00Z')).toBe('2026-03-02 00:00:00')
    expect(shanghaiWallTimeToIso('')).toBeUndefined()
  })
})

describe('small formats', () => {
  it('writes an address on one line without gaps for a missing district', () => {
    expect(addressLine({ province: '浙江省', city: '杭州市', district: '', detail: '文三路 1 号' })).toBe('浙江省 杭州市 文三路 1 号')
    expect(addressLine({ province: '上海市', city: '上海市', district: '浦东新区', detail: '世纪大道 100 号' })).toBe(
      '上海市 上海市 浦东新区 世纪大道 100 号',
    )
  })

  it('shows durations and empty values', () => {
    expect(formatDuration(1.24)).toBe('1.2 秒')
    expect(formatDuration(125)).toBe('2 分 5 秒')
    expect(formatDuration(null)).toBe('—')
    expect(orDash('')).toBe('—')
    expect(orDash(0)).toBe('0')
  })
})
