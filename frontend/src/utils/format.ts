import { currentLocale, i18n } from '@/i18n'

const TIME_ZONE = 'Asia/Shanghai'
const HAS_ZONE = /(Z|[+-]\d{2}:?\d{2})$/i

/** Parse an API timestamp; the API sends UTC, so a zone-less string is read as UTC. */
export function parseApiTime(value: string): Date {
  const iso = HAS_ZONE.test(value) || !value.includes('T') ? value : `${value}Z`
  return new Date(iso)
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(kind: 'datetime' | 'date'): Intl.DateTimeFormat {
  const locale = currentLocale()
  const key = `${locale}|${kind}`
  let f = formatters.get(key)
  if (!f) {
    f = new Intl.DateTimeFormat(locale, {
      timeZone: TIME_ZONE,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      // hourCycle h23: with `hour12: false` English shows midnight as 24:30:00.
      ...(kind === 'datetime' ? { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' as const } : {}),
    })
    formatters.set(key, f)
  }
  return f
}

/** Format an API UTC timestamp in Asia/Shanghai time; '—' for empty values. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—'
  const date = parseApiTime(value)
  if (Number.isNaN(date.getTime())) return value
  return formatter('datetime').format(date)
}

export function formatDate(value: string | null | undefined): string {
  if (!value) return '—'
  const date = parseApiTime(value)
  if (Number.isNaN(date.getTime())) return value
  return formatter('date').format(date)
}

/**
 * Turn a wall-clock time picked in the UI ("YYYY-MM-DD HH:mm:ss", meant as Beijing
 * time whatever the browser's zone) into an ISO string with the +08:00 offset.
 * Asia/Shanghai has no daylight saving time, so the offset is fixed.
 */
export function shanghaiWallTimeToIso(value: string | null | undefined): string | undefined {
  if (!value) return undefined
  return `${value.trim().replace(' ', 'T')}+08:00`
}

export function orDash(value: unknown): string {
  return value === null || value === undefined || value === '' ? '—' : String(value)
}

/**
 * An API (UTC) timestamp → the Beijing wall-clock string the date-time pickers use
 * ("YYYY-MM-DD HH:mm:ss"); the inverse of `shanghaiWallTimeToIso`.
 */
export function isoToShanghaiWallTime(value: string | null | undefined): string {
  if (!value) return ''
  const date = parseApiTime(value)
  if (Number.isNaN(date.getTime())) return ''
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: TIME_ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).formatToParts(date)
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00'
  const hour = get('hour') === '24' ? '00' : get('hour')
  return `${get('year')}-${get('month')}-${get('day')} ${hour}:${get('minute')}:${get('second')}`
}

/** A duration in seconds as「1.2 秒」/「3 分 5 秒」; '—' when unknown. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—'
  const t = i18n.global.t
  if (seconds < 60) return t('common.seconds', { n: seconds < 10 ? seconds.toFixed(1) : Math.round(seconds) })
  const whole = Math.round(seconds)
  return t('common.minutes', { m: Math.floor(whole / 60), s: whole % 60 })
}

/** An address on one line: province, city, district and street, as written on a parcel. */
export function addressLine(a: { province: string; city: string; district?: string | null; detail: string }): string {
  return [a.province, a.city, a.district, a.detail].filter(Boolean).join(' ')
}
