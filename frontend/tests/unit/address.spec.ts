import { beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import type { Address } from '@/api/types'
import AddressChoices from '@/components/AddressChoices.vue'
import AddressDialog from '@/components/AddressDialog.vue'
import { useAddressChoice } from '@/composables/useAddressChoice'
import { mountApp, settle } from './mountApp'

const api = vi.hoisted(() => ({ list: vi.fn(), create: vi.fn(), update: vi.fn() }))
vi.mock('@/api/services', () => ({ addressApi: api }))

const address = (id: number, is_default = false): Address => ({
  id,
  recipient: `收件人${id}`,
  phone: '13800138000',
  province: '上海市',
  city: '上海市',
  district: '',
  detail: `世纪大道 ${id} 号`,
  postal_code: '',
  is_default,
})

beforeEach(() => {
  vi.clearAllMocks()
  document.body.innerHTML = ''
})

function fill(testid: string, value: string) {
  const input = document.querySelector<HTMLInputElement>(`input[data-testid="${testid}"]`)!
  input.value = value
  input.dispatchEvent(new Event('input'))
}

describe('AddressDialog', () => {
  it('adds an address with every text trimmed', async () => {
    api.create.mockImplementation(async (body) => ({ id: 9, ...body }))
    const wrapper = mountApp(AddressDialog, { props: { modelValue: false, makeDefault: true } })
    await wrapper.setProps({ modelValue: true })
    await settle()
    expect(document.querySelector('[data-testid="address-is-default"]')).toBeNull()
    fill('address-recipient', ' 李四 ')
    fill('address-phone', '13900139000 ')
    fill('address-province', '浙江省')
    fill('address-city', '杭州市')
    fill('address-detail', ' 文三路 1 号')
    await nextTick()
    document.querySelector<HTMLButtonElement>('[data-testid="address-submit"]')!.click()
    await settle()
    expect(api.create).toHaveBeenCalledWith({
      recipient: '李四',
      phone: '13900139000',
      province: '浙江省',
      city: '杭州市',
      district: '',
      detail: '文三路 1 号',
      postal_code: '',
      is_default: true,
    })
    expect(wrapper.emitted('saved')?.[0][0]).toMatchObject({ id: 9, recipient: '李四' })
    expect(wrapper.emitted('update:modelValue')?.at(-1)).toEqual([false])
    wrapper.unmount()
  })

  it('edits the address given, default switch included', async () => {
    api.update.mockImplementation(async (id, body) => ({ id, ...body }))
    const wrapper = mountApp(AddressDialog, { props: { modelValue: false, address: address(3), showDefault: true } })
    await wrapper.setProps({ modelValue: true })
    await settle()
    expect(document.querySelector<HTMLInputElement>('input[data-testid="address-recipient"]')!.value).toBe('收件人3')
    expect(document.querySelector('[data-testid="address-is-default"]')).not.toBeNull()
    fill('address-detail', '世纪大道 300 号')
    document.querySelector<HTMLButtonElement>('[data-testid="address-submit"]')!.click()
    await settle()
    expect(api.update).toHaveBeenCalledWith(3, expect.objectContaining({ detail: '世纪大道 300 号', recipient: '收件人3' }))
    expect(api.create).not.toHaveBeenCalled()
    wrapper.unmount()
  })
})

describe('picking the delivery address', () => {
  it('selects the default, keeps a choice that still exists, and takes a new one', async () => {
    const choice = useAddressChoice()
    api.list.mockResolvedValueOnce([address(1), address(2, true)])
    await choice.loadAddresses()
    expect(choice.addressId.value).toBe(2)
    choice.addressId.value = 1
    api.list.mockResolvedValueOnce([address(1), address(2, true)])
    await choice.loadAddresses()
    expect(choice.addressId.value).toBe(1)
    api.list.mockResolvedValueOnce([address(2, true), address(5)])
    await choice.loadAddresses()
    expect(choice.addressId.value).toBe(2)
    api.list.mockResolvedValueOnce([address(2, true), address(5), address(6)])
    await choice.loadAddresses(6)
    expect(choice.addressId.value).toBe(6)
  })

  it('shows each address as a choice and reports the pick', async () => {
    const wrapper = mountApp(AddressChoices, {
      props: { addresses: [address(1), address(2, true)], modelValue: 2, testid: 'checkout-address' },
    })
    const choices = wrapper.findAll('[data-testid="checkout-address"]')
    expect(choices.map((c) => c.attributes('data-address-id'))).toEqual(['1', '2'])
    expect(choices[0].text()).toContain('上海市 上海市 世纪大道 1 号')
    expect(choices[1].text()).toContain('默认')
    await choices[0].find('input').setValue(true)
    expect(wrapper.emitted('update:modelValue')?.at(-1)).toEqual([1])
    wrapper.unmount()
  })
})
