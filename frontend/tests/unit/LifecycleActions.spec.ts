import { describe, expect, it, vi } from 'vitest'
import LifecycleActions from '@/components/LifecycleActions.vue'
import { ApiError } from '@/api/client'
import { useAuthStore } from '@/stores/auth'
import type { Me } from '@/api/types'
import { mountApp, settle } from './mountApp'

function fakeApi() {
  return { act: vi.fn(async () => ({})), review: vi.fn(async () => ({})) }
}

function mountActions(state: string, api = fakeApi(), permissions: string[] = ['promotions:write', 'promotions:approve']) {
  const wrapper = mountApp(LifecycleActions, {
    props: { item: { id: 7, name: '满100减10' }, state, api, testid: 'promotion' },
    slots: { default: '<button data-testid="extra">results</button>' },
  })
  useAuthStore().user = { id: 1, is_staff: true, roles: [], permissions } as unknown as Me
  return { wrapper, api }
}

const buttons = (wrapper: ReturnType<typeof mountActions>['wrapper']) =>
  wrapper.findAll('[data-testid^="promotion-"]').map((b) => b.attributes('data-testid'))

describe('LifecycleActions', () => {
  it('offers what each state allows', async () => {
    for (const [state, expected] of [
      ['draft', ['promotion-submit']],
      ['in_review', ['promotion-approve', 'promotion-reject']],
      ['scheduled', ['promotion-pause', 'promotion-end']],
      ['running', ['promotion-pause', 'promotion-end']],
      ['paused', ['promotion-resume', 'promotion-end']],
      ['ended', []],
    ] as const) {
      const { wrapper } = mountActions(state)
      await settle()
      expect(buttons(wrapper), state).toEqual(expected)
      expect(wrapper.find('[data-testid="extra"]').exists()).toBe(true)
      wrapper.unmount()
    }
  })

  it('lets only an approver review; others see that it waits', async () => {
    const { wrapper } = mountActions('in_review', fakeApi(), ['promotions:write'])
    await settle()
    expect(buttons(wrapper)).toEqual(['promotion-awaiting-review'])
    wrapper.unmount()
  })

  it('runs an action and reports the change', async () => {
    const { wrapper, api } = mountActions('running')
    await settle()
    await wrapper.get('[data-testid="promotion-pause"]').trigger('click')
    await settle()
    expect(api.act).toHaveBeenCalledWith(7, 'pause')
    expect(wrapper.emitted('changed')).toHaveLength(1)
    wrapper.unmount()
  })

  it('asks why before rejecting, and shows a refusal in the dialog', async () => {
    const api = fakeApi()
    api.review.mockRejectedValueOnce(new ApiError(409, { code: 'PROMO_STATE_CONFLICT', detail: 'x', current: 'ended' }))
    const { wrapper } = mountActions('in_review', api)
    await settle()
    await wrapper.get('[data-testid="promotion-reject"]').trigger('click')
    await settle()
    const submit = () => document.querySelector<HTMLButtonElement>('[data-testid="promotion-reject-submit"]')!.click()
    submit()
    await settle()
    expect(document.querySelector('[data-testid="promotion-review-error"]')?.textContent).toBe('请填写驳回原因')
    expect(api.review).not.toHaveBeenCalled()

    const note = document.querySelector<HTMLTextAreaElement>('textarea[data-testid="promotion-reject-note"]')!
    note.value = '  力度过大 '
    note.dispatchEvent(new Event('input'))
    submit()
    await settle()
    expect(api.review).toHaveBeenCalledWith(7, 'reject', '力度过大')
    expect(document.querySelector('[data-testid="promotion-review-error"]')?.textContent).toMatch(/已结束/)
    expect(wrapper.emitted('changed')).toBeUndefined()

    submit()
    await settle()
    expect(api.review).toHaveBeenCalledTimes(2)
    expect(wrapper.emitted('changed')).toHaveLength(1)
    wrapper.unmount()
  })
})
