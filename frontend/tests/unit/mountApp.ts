// Mount a component as the app runs it: Element Plus, the app's i18n and a fresh Pinia store.
import { mount, type ComponentMountingOptions } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import type { Component } from 'vue'
import { i18n } from '@/i18n'

export function mountApp<C extends Component>(component: C, options: ComponentMountingOptions<C> = {}) {
  const pinia = createPinia()
  setActivePinia(pinia)
  return mount(component, {
    attachTo: document.body,
    ...options,
    global: { plugins: [ElementPlus, i18n, pinia], ...(options.global ?? {}) },
  } as ComponentMountingOptions<C>)
}

/** Let pending promises and Vue's updates run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0))
}
