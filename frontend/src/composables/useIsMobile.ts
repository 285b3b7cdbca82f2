import { ref, type Ref } from 'vue'

const QUERY = '(max-width: 767px)'
let shared: Ref<boolean> | null = null

/** True on phone-sized screens (below the md breakpoint); one shared listener. */
export function useIsMobile(): Ref<boolean> {
  if (!shared) {
    const mql = window.matchMedia(QUERY)
    shared = ref(mql.matches)
    const update = () => {
      shared!.value = mql.matches
    }
    mql.addEventListener('change', update)
  }
  return shared
}
