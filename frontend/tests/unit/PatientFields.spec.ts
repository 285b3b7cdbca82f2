// The patient (用药人) on the prescription dialog, and the reveal button of staff views: pregnancy is asked of a
// woman only (and cleared for a man), a birth date or an age; the reveal shows only to pii:reveal holders, asks
// the purpose and hands back the values.
import { describe, expect, it, vi } from 'vitest'
import { nextTick, ref } from 'vue'
import { ElMessageBox } from 'element-plus'
import PatientFields from '@/components/PatientFields.vue'
import type { PatientForm } from '@/components/PatientFields.vue'
import RevealButton from '@/components/RevealButton.vue'
import type { Me } from '@/api/types'
import { setLocale } from '@/i18n'
import { useAuthStore } from '@/stores/auth'
import { mountApp, settle } from './mountApp'

function patient(): PatientForm {
  return {
    name: '',
    sex: 'female',
    ageMode: 'birth_date',
    birth_date: null,
    age: null,
    allergies: '',
    pregnancy: 'breastfeeding',
    relationship: 'self',
  }
}

describe('PatientFields', () => {
  it('asks a woman about pregnancy and clears it for a man', async () => {
    const model = ref(patient())
    const w = mountApp(PatientFields, {
      props: { modelValue: model.value, 'onUpdate:modelValue': (v: PatientForm) => (model.value = v), errors: {} },
    })
    expect(w.find('[data-testid="patient-pregnancy"]').exists()).toBe(true)
    model.value.sex = 'male'
    await w.setProps({ modelValue: model.value })
    await nextTick()
    expect(w.find('[data-testid="patient-pregnancy"]').exists()).toBe(false)
    expect(model.value.pregnancy).toBe('none')
    w.unmount()
  })

  it('takes an age instead of a birth date, shows the errors given and speaks English', async () => {
    setLocale('en')
    const model = ref({ ...patient(), ageMode: 'age' as const })
    const w = mountApp(PatientFields, { props: { modelValue: model.value, errors: { age: 'Give the age' } } })
    await settle()
    expect(w.find('[data-testid="patient-age"]').exists()).toBe(true)
    expect(w.find('[data-testid="patient-birth-date"]').exists()).toBe(false)
    // Element Plus shows a form item's error through a transition: wait for it rather than for a fixed number of ticks
    await vi.waitFor(() => expect(w.text()).toContain('Give the age'), { timeout: 3000 })
    expect(w.text()).toContain('Relationship to the buyer')
    w.unmount()
    setLocale('zh-CN')
  })
})

describe('RevealButton', () => {
  const me = (permissions: string[]) => ({ id: 1, is_staff: true, roles: [], permissions }) as unknown as Me

  it('shows only to staff holding pii:reveal', () => {
    const w = mountApp(RevealButton, { props: { reveal: vi.fn() } })
    expect(w.find('[data-testid="reveal-button"]').exists()).toBe(false)
    w.unmount()
  })

  it('asks the purpose and hands back the revealed values', async () => {
    const reveal = vi.fn().mockResolvedValue({ subject_type: 'order', subject_id: 3, values: { phone: '13800138000' }, purpose: '配送' })
    const w = mountApp(RevealButton, { props: { reveal } })
    useAuthStore().user = me(['pii:reveal'])
    await nextTick()
    const prompt = vi.spyOn(ElMessageBox, 'prompt').mockResolvedValue({ value: ' 联系收件人 ', action: 'confirm' } as never)
    await w.get('[data-testid="reveal-button"]').trigger('click')
    await settle()
    expect(prompt).toHaveBeenCalledOnce()
    expect(reveal).toHaveBeenCalledWith('联系收件人')
    expect(w.emitted('revealed')?.[0]).toEqual([{ phone: '13800138000' }])
    prompt.mockRejectedValue('cancel')
    await w.get('[data-testid="reveal-button"]').trigger('click')
    await settle()
    expect(reveal).toHaveBeenCalledTimes(1) // cancelled: nothing asked of the server
    w.unmount()
  })
})
