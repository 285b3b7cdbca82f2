// The purposes of processing on the registration form and the privacy settings: each explained with its own
// switch in the current language, its default until chosen, a sensitive one marked, a choice reported.
import { mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { describe, expect, it } from 'vitest'
import ConsentSwitches from '@/components/ConsentSwitches.vue'
import type { ConsentPurpose, Purpose } from '@/api/types'
import { i18n, setLocale } from '@/i18n'

const purposes: Purpose[] = [
  {
    purpose: 'behaviour_analytics',
    default: true,
    sensitive: false,
    label_zh: '行为分析',
    label_en: 'Behaviour analytics',
    description_zh: '记录浏览',
    description_en: 'Records browsing',
  },
  {
    purpose: 'health_profile',
    default: false,
    sensitive: true,
    label_zh: '健康档案',
    label_en: 'Health profile',
    description_zh: '用药提醒',
    description_en: 'Refill reminders',
  },
]

function render(modelValue: Partial<Record<ConsentPurpose, boolean>> = {}) {
  return mount(ConsentSwitches, {
    props: { purposes, modelValue, testid: 'c', testids: { behaviour_analytics: 'tracking' } },
    global: { plugins: [i18n, ElementPlus] },
  })
}

const enabled = (w: ReturnType<typeof render>, id: string) => w.get(`[data-testid="${id}"]`).attributes('data-enabled')

describe('ConsentSwitches', () => {
  it('shows each purpose at its default until chosen, the sensitive one marked', () => {
    const w = render()
    expect(enabled(w, 'tracking')).toBe('true')
    expect(enabled(w, 'c-health_profile')).toBe('false')
    expect(w.text()).toContain('健康档案')
    expect(w.text()).toContain('敏感个人信息')
    expect(w.findAll('.consents__item--sensitive')).toHaveLength(1)
  })

  it('follows the chosen values and speaks English', () => {
    setLocale('en')
    const w = render({ behaviour_analytics: false, health_profile: true })
    expect(enabled(w, 'tracking')).toBe('false')
    expect(enabled(w, 'c-health_profile')).toBe('true')
    expect(w.text()).toContain('Refill reminders')
    expect(w.text()).not.toContain('用药提醒')
  })

  it('reports a choice and updates the model', async () => {
    const w = render()
    await w.get('[data-testid="c-health_profile"]').trigger('click')
    expect(w.emitted('change')).toEqual([['health_profile', true]])
    expect(w.emitted('update:modelValue')).toEqual([[{ health_profile: true }]])
  })
})
