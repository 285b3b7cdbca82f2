import { createApp, watch } from 'vue'
import { createPinia } from 'pinia'
import ElementPlus, { ElMessage } from 'element-plus'
import 'element-plus/dist/index.css'
import './styles/main.css'

import App from './App.vue'
import router from './router'
import { currentLocale, i18n } from './i18n'
import { tracker } from './tracking/tracker'
import { setAuthFailureHandler } from './api/client'
import { trackingApi } from './api/services'
import { useAuthStore } from './stores/auth'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(router)
app.use(ElementPlus)

// A refresh failed: the session is over. Log out locally and, on a page that needs a
// session, go to the matching login page.
setAuthFailureHandler(() => {
  const auth = useAuthStore(pinia)
  const wasLoggedIn = auth.isLoggedIn
  auth.reset()
  const route = router.currentRoute.value
  const inConsole = route.path.startsWith('/console')
  if (route.meta.requiresAuth || route.meta.requiresStaff) {
    if (wasLoggedIn) ElMessage.warning(i18n.global.t('auth.sessionExpired'))
    router.push({ name: inConsole ? 'console-login' : 'login', query: { redirect: route.fullPath } })
  }
})

// Storefront analytics (Segment calls to /v1/batch): one page call per storefront route change.
void tracker.init({ locale: currentLocale(), identity: trackingApi.identity })
watch(
  () => i18n.global.locale.value,
  (locale) => tracker.setLocale(String(locale)),
)
{
  const auth = useAuthStore(pinia)
  // A session restored on load: later events carry the user id (identify is only sent at login/register).
  watch(
    () => auth.user,
    (user) => {
      if (user && !user.is_staff) tracker.setUserId(user.id)
      else if (!user && !auth.hasTokens) tracker.setUserId(null)
    },
  )
}
router.afterEach((to, _from, failure) => {
  if (failure || to.path.startsWith('/console')) return
  tracker.page(typeof to.name === 'string' ? to.name : null)
})

app.mount('#app')
