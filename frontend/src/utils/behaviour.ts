// Words for the behaviour analysis's codes: funnel steps, channels (UTM sources), devices (OS families), price and
// order-value bands in yuan, and shares as percentages.
import { i18n } from '@/i18n'
import { keyLabel } from './labels'

/** A funnel step's name (view, cart, checkout, paid). */
export function stepLabel(step: string): string {
  return keyLabel('behaviour.steps', step)
}

/** A channel: the UTM source as sent, with words for direct visits and the shop's own channels. */
export function channelLabel(channel: string): string {
  return keyLabel('behaviour.channels', channel)
}

/** A device: the OS family, with words for unknown (server events only) and other. */
export function deviceLabel(device: string): string {
  return keyLabel('behaviour.devices', device)
}

/** A band of yuan amounts ('20-50' → ¥20–50, '500+' → ¥500 以上). */
export function bandLabel(band: string): string {
  if (band.endsWith('+')) return i18n.global.t('behaviour.bandFrom', { from: band.slice(0, -1) })
  const [lo, hi] = band.split('-')
  return `¥${lo}–${hi}`
}

/** A count band ('5+' → 5 及以上). */
export function countLabel(band: string): string {
  return band.endsWith('+') ? i18n.global.t('behaviour.countFrom', { from: band.slice(0, -1) }) : band
}

/** A share of 1 as a percentage with one decimal ('—' when there is none). */
export function share(value: number | null | undefined): string {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`
}
