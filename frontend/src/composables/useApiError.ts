import { reactive } from 'vue'
import { ElMessage } from 'element-plus'
import { ApiError } from '@/api/client'
import { i18n } from '@/i18n'

/** The message to show a person for a failed call. */
export function describeError(err: unknown): string {
  const t = i18n.global.t
  if (err instanceof ApiError) {
    if (err.status === 0) return t('errors.network')
    if (err.code === 'LOGIN_LOCKED' && err.retryAfter != null) {
      const seconds = Math.ceil(err.retryAfter)
      // The backend's detail already names the wait; add it only if it does not.
      return err.detail && err.detail.includes(String(seconds)) ? err.detail : t('auth.locked', { seconds })
    }
    const withState = stateMessage(err)
    if (withState) return withState
    // The backend localises `detail`; for codes it has no message for yet it answers the bare code,
    // so the UI's own wording (errorCodes.*) is used then.
    const local = i18n.global.te(`errorCodes.${err.code}`) ? t(`errorCodes.${err.code}`) : ''
    const untranslated = !err.detail || err.detail === err.code
    const base = (untranslated && local) || err.detail || err.title || t('errors.generic')
    // Errors about the body as a whole (e.g. "give exactly one of phone or email") have no
    // form field to sit under: show them with the message.
    const general = err.errors
      .filter((e) => !fieldKey(e.field || ''))
      .map((e) => e.message)
      .filter((m) => m && m !== err.code && m !== base)
    return general.length ? `${base}: ${general.join('; ')}` : base
  }
  return t('errors.generic')
}

/** Codes whose problem names the object's state (`current`: `ended`, `paid`), and the UI's words for those states. */
const STATE_WORDS: Record<string, string> = {
  ORDER_STATE_CONFLICT: 'orderStatus',
  ORDER_NOT_PAYABLE: 'orderStatus',
  PROMO_STATE_CONFLICT: 'adminPromo.states',
  COUPON_NOT_AVAILABLE: 'adminPromo.states',
  PRESCRIPTION_ALREADY_REVIEWED: 'rx.statuses',
  REVIEW_ALREADY_MODERATED: 'adminReviews.statuses',
}

/** The UI's message for a refusal because of a state, the state in words (never the raw `（ended）`); '' if none. */
function stateMessage(err: ApiError): string {
  const { t, te } = i18n.global
  const group = STATE_WORDS[err.code]
  const current = err.problem.current
  if (!group || typeof current !== 'string' || !te(`errorCodes.${err.code}`)) return ''
  const message = t(`errorCodes.${err.code}`)
  const state = `${group}.${current.replace(/ /g, '_')}`
  return te(state) ? t('errors.withState', { message, state: t(state) }) : message
}

/** Show a failed call in an ElMessage; returns the text shown. */
export function showError(err: unknown): string {
  const message = describeError(err)
  if (err instanceof ApiError) {
    if (err.requestId) console.warn(`[api] ${err.code} (request ${err.requestId}): ${message}`)
  } else {
    console.error(err)
  }
  ElMessage({ type: 'error', message, duration: 5000, showClose: true, grouping: true })
  return message
}

const LOCATIONS = new Set(['body', 'query', 'path', 'header'])

/**
 * The top-level form field a backend error refers to: "password" → "password",
 * "roles.0" → "roles", "body.email" → "email"; '' for the body as a whole.
 */
function fieldKey(field: string): string {
  const parts = field.split('.').filter((p) => p && !LOCATIONS.has(p))
  return parts[0] ?? ''
}

/**
 * Per-field messages for a form: bind `:error="fieldErrors.password"` on el-form-item.
 * `handle(err)` shows the message and fills fieldErrors from problem `errors`.
 */
export function useFormErrors() {
  const fieldErrors = reactive<Record<string, string>>({})

  function clear() {
    for (const key of Object.keys(fieldErrors)) fieldErrors[key] = ''
  }

  function handle(err: unknown, aliases: Record<string, string> = {}): string {
    clear()
    if (err instanceof ApiError) {
      for (const e of err.errors) {
        const name = fieldKey(e?.field || '')
        if (!name) continue
        const key = aliases[name] ?? name
        const code = e.code || ''
        const text =
          (!e.message || e.message === code) && i18n.global.te(`errorCodes.${code}`)
            ? i18n.global.t(`errorCodes.${code}`)
            : e.message
        fieldErrors[key] = fieldErrors[key] ? `${fieldErrors[key]}; ${text}` : text
      }
    }
    return showError(err)
  }

  return { fieldErrors, clear, handle }
}
