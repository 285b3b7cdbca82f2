// The words the back end sends as codes or in Chinese have the UI's own words in both languages: every audit action
// the code writes, every permission, the built-in roles' names and descriptions and the built-in member levels. The
// back end's sources are read as text, so a new action or permission without its labels fails here, not in a
// walk-through of the console in English.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { i18n } from '@/i18n'

const SRC = resolve(__dirname, '../../../src/medreach')
const LOCALES = ['zh-CN', 'en'] as const

function pythonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === 'web' || name === '__pycache__' ? [] : pythonFiles(path)
    return name.endsWith('.py') ? [path] : []
  })
}

const ACTION = /"([a-z_]+\.[a-z_]+)"/g

/** Audit actions written as literals: `action="x.y"` (both arms of a conditional; not the start of a concatenation)
 * and `audit(…, "x.y", …)` helpers. */
function auditActions(): Set<string> {
  const found = new Set<string>()
  for (const file of pythonFiles(SRC)) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/action=("[^"\n]*"(?! *\+)(?: if [^\n]* else "[^"\n]*")?)/g)) {
      for (const a of m[1].matchAll(ACTION)) found.add(a[1])
    }
    for (const m of text.matchAll(/\b_?audit\(\s*session,\s*\w+,\s*"([a-z_]+\.[a-z_]+)"/g)) found.add(m[1])
  }
  // Built from a value: orders' refund decision, review moderation, and promotions' and coupons' lifecycle
  // (promotions.service.act and review: the table name with the action or decision).
  for (const a of ['orders.refund_approve', 'orders.refund_reject', 'reviews.approve', 'reviews.reject']) found.add(a)
  // profiles.models_tasks.start audits the job it starts: `profiles.<job>`.
  for (const a of ['profiles.find_personas', 'profiles.train_models']) found.add(a)
  const lifecycle = readFileSync(join(SRC, 'promotions', 'service.py'), 'utf8')
  const actions = lifecycle.slice(lifecycle.indexOf('_ACTIONS'), lifecycle.indexOf('}', lifecycle.indexOf('_ACTIONS')))
  const verbs = [...actions.matchAll(/"([a-z_]+)":/g)].map((m) => m[1])
  expect(verbs.length).toBeGreaterThan(2)
  for (const table of ['promotions', 'coupons']) {
    for (const verb of [...verbs, 'approve', 'reject']) found.add(`${table}.${verb}`)
  }
  return found
}

function block(text: string, start: string): string {
  const from = text.indexOf(start)
  expect(from, start).toBeGreaterThanOrEqual(0)
  return text.slice(from, text.indexOf('\n}', from))
}

const permissionsPy = readFileSync(join(SRC, 'accounts', 'permissions.py'), 'utf8')

function missing(keys: string[]): string[] {
  return keys.flatMap((key) => LOCALES.filter((l) => !i18n.global.te(key, l)).map((l) => `${l}: ${key}`))
}

describe('words for what the back end sends', () => {
  it('labels every audit action the code writes', () => {
    const actions = [...auditActions()]
    expect(actions).toContain('users.list')
    expect(actions.length).toBeGreaterThan(40)
    expect(missing(actions.map((a) => `auditActions.${a}`))).toEqual([])
  })

  it('labels every permission', () => {
    const codes = [...block(permissionsPy, 'PERMISSIONS: dict').matchAll(/^\s+"([a-z_]+:[a-z_]+)":/gm)].map((m) => m[1])
    expect(codes).toContain('users:read')
    expect(missing(codes.map((c) => `permissionNames.${c.replace(/[^a-zA-Z0-9]/g, '_')}`))).toEqual([])
  })

  it("names the built-in roles and knows their descriptions in the back end's words", () => {
    const roles = [...block(permissionsPy, 'BUILTIN_ROLES: dict').matchAll(/^ {4}"([a-z_]+)": \(\s*"([^"]+)"/gm)]
    expect(roles.map((m) => m[1])).toContain('pharmacist')
    expect(missing(roles.flatMap((m) => [`roleNames.${m[1]}`, `roleDescriptions.${m[1]}`]))).toEqual([])
    // The English description shows only while the API's text is the built-in one (utils/labels.builtinText).
    for (const [, name, description] of roles) {
      expect(i18n.global.t(`roleDescriptions.${name}`, {}, { locale: 'zh-CN' }), name).toBe(description)
    }
  })

  it("knows the default member levels in the back end's words", () => {
    const settings = readFileSync(join(SRC, 'core', 'settings.py'), 'utf8')
    const levels = /member_levels: str = "([^"]+)"/.exec(settings)?.[1].split(',').map((l) => l.split(':')[0]) ?? []
    expect(levels.length).toBeGreaterThan(1)
    levels.forEach((name, level) => {
      expect(i18n.global.t(`memberLevels.${level}`, {}, { locale: 'zh-CN' })).toBe(name)
      expect(i18n.global.t(`memberLevels.${level}`, {}, { locale: 'en' })).not.toMatch(/[\u4e00-\u9fff]/)
    })
  })
})
