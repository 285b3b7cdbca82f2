import { ref } from 'vue'
import { addressApi } from '@/api/services'
import type { Address } from '@/api/types'

/** The buyer's addresses and the one an order goes to (checkout, flash sales). */
export function useAddressChoice() {
  const addresses = ref<Address[]>([])
  const addressId = ref<Address['id'] | null>(null)

  /** Load the addresses; select `select` if given, else keep the choice while it exists, else the default one. */
  async function loadAddresses(select?: Address['id']) {
    addresses.value = await addressApi.list()
    if (select !== undefined) addressId.value = select
    else if (addressId.value === null || !addresses.value.some((a) => a.id === addressId.value)) {
      addressId.value = (addresses.value.find((a) => a.is_default) ?? addresses.value[0])?.id ?? null
    }
  }

  return { addresses, addressId, loadAddresses }
}
