// The single table the console side menu AND the console route guards are built from.
import type { Component } from 'vue'
import {
  Avatar,
  ChatLineSquare,
  Clock,
  CollectionTag,
  DataAnalysis,
  Document,
  FirstAidKit,
  Histogram,
  Files,
  Key,
  Connection,
  Cpu,
  List,
  Monitor,
  Operation,
  Present,
  Stamp,
  Ticket,
  TrendCharts,
  User,
  UserFilled,
  PieChart,
} from '@element-plus/icons-vue'

export interface ConsoleMenuItem {
  /** Path under /console ('' is the dashboard). */
  path: string
  /** Route name; the menu item's data-testid is `menu-<key>`. */
  key: string
  titleKey: string
  icon: Component
  /** Permission code needed to see the item and open the page (none: any staff). */
  permission: string | null
  component: () => Promise<unknown>
}

export const consoleMenu: ConsoleMenuItem[] = [
  {
    path: '',
    key: 'dashboard',
    titleKey: 'console.menu.dashboard',
    icon: DataAnalysis,
    permission: null,
    component: () => import('@/views/console/DashboardView.vue'),
  },
  {
    path: 'products',
    key: 'products',
    titleKey: 'console.menu.products',
    icon: FirstAidKit,
    permission: 'catalog:read',
    component: () => import('@/views/console/ProductsView.vue'),
  },
  {
    path: 'categories',
    key: 'categories',
    titleKey: 'console.menu.categories',
    icon: Files,
    permission: 'catalog:read',
    component: () => import('@/views/console/CategoriesView.vue'),
  },
  {
    path: 'orders',
    key: 'orders',
    titleKey: 'console.menu.orders',
    icon: List,
    permission: 'orders:read_all',
    component: () => import('@/views/console/OrdersView.vue'),
  },
  {
    path: 'prescriptions',
    key: 'prescriptions',
    titleKey: 'console.menu.prescriptions',
    icon: Stamp,
    permission: 'rx:review',
    component: () => import('@/views/console/PrescriptionsView.vue'),
  },
  {
    path: 'reviews',
    key: 'reviews',
    titleKey: 'console.menu.reviews',
    icon: ChatLineSquare,
    permission: 'reviews:moderate',
    component: () => import('@/views/console/ReviewsView.vue'),
  },
  {
    path: 'promotions',
    key: 'promotions',
    titleKey: 'console.menu.promotions',
    icon: Present,
    permission: 'promotions:write',
    component: () => import('@/views/console/PromotionsView.vue'),
  },
  {
    path: 'coupons',
    key: 'coupons',
    titleKey: 'console.menu.coupons',
    icon: Ticket,
    permission: 'promotions:write',
    component: () => import('@/views/console/CouponsView.vue'),
  },
  {
    path: 'sources',
    key: 'sources',
    titleKey: 'console.menu.sources',
    icon: Connection,
    permission: 'analytics:read',
    component: () => import('@/views/console/SourcesView.vue'),
  },
  {
    path: 'events/live',
    key: 'live-events',
    titleKey: 'console.menu.liveEvents',
    icon: Monitor,
    permission: 'analytics:read',
    component: () => import('@/views/console/LiveEventsView.vue'),
  },
  {
    path: 'events/timeline',
    key: 'timeline',
    titleKey: 'console.menu.timeline',
    icon: Clock,
    permission: 'profiles:read',
    component: () => import('@/views/console/UserTimelineView.vue'),
  },
  {
    path: 'profiles/customers',
    key: 'customer-profiles',
    titleKey: 'console.menu.customerProfiles',
    icon: Avatar,
    permission: 'profiles:read',
    component: () => import('@/views/console/CustomerProfilesView.vue'),
  },
  {
    path: 'tags',
    key: 'tags',
    titleKey: 'console.menu.tags',
    icon: CollectionTag,
    permission: 'profiles:read',
    component: () => import('@/views/console/TagsView.vue'),
  },
  {
    path: 'segments',
    key: 'segments',
    titleKey: 'console.menu.segments',
    icon: Histogram,
    permission: 'profiles:read',
    component: () => import('@/views/console/SegmentsView.vue'),
  },
  {
    path: 'profiles/personas',
    key: 'personas',
    titleKey: 'console.menu.personas',
    icon: PieChart,
    permission: 'profiles:read',
    component: () => import('@/views/console/PersonasView.vue'),
  },
  {
    path: 'profiles/models',
    key: 'models',
    titleKey: 'console.menu.models',
    icon: Cpu,
    permission: 'profiles:read',
    component: () => import('@/views/console/ModelsView.vue'),
  },
  {
    path: 'behaviour',
    key: 'behaviour',
    titleKey: 'console.menu.behaviour',
    icon: TrendCharts,
    permission: 'analytics:read',
    component: () => import('@/views/console/BehaviourView.vue'),
  },
  {
    path: 'pipeline',
    key: 'pipeline',
    titleKey: 'console.menu.pipeline',
    icon: Operation,
    permission: 'analytics:read',
    component: () => import('@/views/console/PipelineView.vue'),
  },
  {
    path: 'customers',
    key: 'customers',
    titleKey: 'console.menu.customers',
    icon: User,
    permission: 'users:read',
    component: () => import('@/views/console/CustomersView.vue'),
  },
  {
    path: 'staff',
    key: 'staff',
    titleKey: 'console.menu.staff',
    icon: UserFilled,
    permission: 'users:manage',
    component: () => import('@/views/console/StaffView.vue'),
  },
  {
    path: 'roles',
    key: 'roles',
    titleKey: 'console.menu.roles',
    icon: Key,
    permission: 'users:manage',
    component: () => import('@/views/console/RolesView.vue'),
  },
  {
    path: 'audit',
    key: 'audit',
    titleKey: 'console.menu.audit',
    icon: Document,
    permission: 'audit:read',
    component: () => import('@/views/console/AuditView.vue'),
  },
]

export function consolePath(item: ConsoleMenuItem): string {
  return item.path ? `/console/${item.path}` : '/console'
}
