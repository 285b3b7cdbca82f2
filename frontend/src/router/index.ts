import { createRouter, createWebHistory, type RouteLocationRaw, type RouteRecordRaw } from 'vue-router'
import { ElMessage } from 'element-plus'
import { useAuthStore } from '@/stores/auth'
import { i18n } from '@/i18n'
import { consoleMenu } from './consoleMenu'
import StoreLayout from '@/layouts/StoreLayout.vue'

declare module 'vue-router' {
  interface RouteMeta {
    titleKey?: string
    /** Store pages that need a logged-in user. */
    requiresAuth?: boolean
    /** Pages for visitors only (login/register). */
    guestOnly?: boolean
    /** Console pages: staff only. */
    requiresStaff?: boolean
    permission?: string | null
  }
}

const routes: RouteRecordRaw[] = [
  {
    path: '/console/login',
    name: 'console-login',
    component: () => import('@/views/console/ConsoleLoginView.vue'),
    meta: { titleKey: 'console.loginTitle' },
  },
  {
    path: '/console/no-access',
    name: 'console-no-access',
    component: () => import('@/views/console/NoAccessView.vue'),
    meta: { titleKey: 'console.noAccessTitle' },
  },
  {
    path: '/console',
    component: () => import('@/layouts/ConsoleLayout.vue'),
    meta: { requiresStaff: true },
    children: [
      ...consoleMenu.map<RouteRecordRaw>((item) => ({
        path: item.path,
        name: `console-${item.key}`,
        component: item.component,
        meta: { titleKey: item.titleKey, permission: item.permission },
      })),
      {
        // A customer's 360 page, opened from the customer profiles list (not a menu item of its own).
        path: 'profiles/customers/:id(\\d+)',
        name: 'console-customer-detail',
        component: () => import('@/views/console/CustomerDetailView.vue'),
        meta: { titleKey: 'profiles.detailTitle', permission: 'profiles:read' },
      },
      { path: ':pathMatch(.*)*', redirect: { name: 'console-dashboard' } },
    ],
  },
  {
    path: '/',
    component: StoreLayout,
    children: [
      { path: '', name: 'home', component: () => import('@/views/store/HomeView.vue'), meta: { titleKey: 'nav.home' } },
      {
        path: 'login',
        name: 'login',
        component: () => import('@/views/store/LoginView.vue'),
        meta: { titleKey: 'auth.loginTitle', guestOnly: true },
      },
      {
        path: 'register',
        name: 'register',
        component: () => import('@/views/store/RegisterView.vue'),
        meta: { titleKey: 'auth.registerTitle', guestOnly: true },
      },
      {
        path: 'legal/:name(terms|privacy)',
        name: 'legal',
        component: () => import('@/views/store/LegalView.vue'),
      },
      {
        path: 'account',
        name: 'account',
        component: () => import('@/views/store/AccountView.vue'),
        meta: { titleKey: 'account.title', requiresAuth: true },
      },
      {
        path: 'account/addresses',
        name: 'addresses',
        component: () => import('@/views/store/AddressesView.vue'),
        meta: { titleKey: 'address.title', requiresAuth: true },
      },
      {
        path: 'account/prescriptions',
        name: 'prescriptions',
        component: () => import('@/views/store/PrescriptionsView.vue'),
        meta: { titleKey: 'rx.title', requiresAuth: true },
      },
      {
        path: 'account/coupons',
        name: 'coupon-wallet',
        component: () => import('@/views/store/CouponWalletView.vue'),
        meta: { titleKey: 'promo.walletTitle', requiresAuth: true },
      },
      {
        path: 'account/membership',
        name: 'membership',
        component: () => import('@/views/store/MembershipView.vue'),
        meta: { titleKey: 'membership.title', requiresAuth: true },
      },
      {
        path: 'coupons',
        name: 'coupons',
        component: () => import('@/views/store/CouponCenterView.vue'),
        meta: { titleKey: 'promo.centreTitle' },
      },
      {
        path: 'flash-sales',
        name: 'flash-sales',
        component: () => import('@/views/store/FlashSalesView.vue'),
        meta: { titleKey: 'flash.title' },
      },
      {
        path: 'products',
        name: 'products',
        component: () => import('@/views/store/ProductListView.vue'),
        meta: { titleKey: 'listing.title' },
      },
      {
        path: 'products/:id(\\d+)',
        name: 'product',
        component: () => import('@/views/store/ProductDetailView.vue'),
        meta: { titleKey: 'product.title' },
      },
      {
        path: 'cart',
        name: 'cart',
        component: () => import('@/views/store/CartView.vue'),
        meta: { titleKey: 'cart.title' },
      },
      {
        path: 'checkout',
        name: 'checkout',
        component: () => import('@/views/store/CheckoutView.vue'),
        meta: { titleKey: 'checkout.title', requiresAuth: true },
      },
      {
        path: 'orders',
        name: 'orders',
        component: () => import('@/views/store/OrdersView.vue'),
        meta: { titleKey: 'orders.title', requiresAuth: true },
      },
      {
        path: 'orders/:id(\\d+)',
        name: 'order',
        component: () => import('@/views/store/OrderDetailView.vue'),
        meta: { titleKey: 'orders.detailTitle', requiresAuth: true },
      },
      {
        path: ':pathMatch(.*)*',
        name: 'not-found',
        component: () => import('@/views/store/NotFoundView.vue'),
        meta: { titleKey: 'errors.notFoundTitle' },
      },
    ],
  },
]

const router = createRouter({
  history: createWebHistory('/'),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
})

/** Only follow same-site relative redirects. */
export function safeRedirect(value: unknown, fallback: string): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : fallback
}

router.beforeEach(async (to): Promise<RouteLocationRaw | true> => {
  const auth = useAuthStore()
  await auth.ensureLoaded()

  if (to.meta.requiresStaff) {
    if (!auth.isLoggedIn) return { name: 'console-login', query: { redirect: to.fullPath } }
    if (!auth.isStaff) return { name: 'console-no-access' }
    if (!auth.can(to.meta.permission)) {
      ElMessage.warning(i18n.global.t('console.forbidden'))
      return { name: 'console-dashboard' }
    }
    return true
  }
  if (to.name === 'console-login' && auth.isLoggedIn && auth.isStaff) {
    return safeRedirect(to.query.redirect, '/console')
  }
  if (to.name === 'console-no-access' && !auth.isLoggedIn) return { name: 'console-login' }
  if (to.meta.requiresAuth && !auth.isLoggedIn) return { name: 'login', query: { redirect: to.fullPath } }
  if (to.meta.guestOnly && auth.isLoggedIn) return safeRedirect(to.query.redirect, '/')
  return true
})

function updateTitle() {
  const route = router.currentRoute.value
  const t = i18n.global.t
  const area = route.path.startsWith('/console') ? t('app.consoleName') : t('app.name')
  document.title = route.meta.titleKey ? `${t(route.meta.titleKey)} · ${area}` : area
}

router.afterEach(() => updateTitle())

export { updateTitle }
export default router
