// Typed calls for each backend endpoint, on top of the fetch wrapper.

import { api } from './client'
import type {
  Address,
  AddressInput,
  AuditEntry,
  AuditOutcome,
  AuthResult,
  Me,
  Page,
  Permission,
  ProfilePatch,
  Role,
  StaffUser,
  StaffUserDetail,
  Tokens,
} from './types'

export interface RegisterInput {
  phone?: string
  email?: string
  password: string
  name?: string
}

export const authApi = {
  register: (input: RegisterInput) => api.post<AuthResult>('/auth/register', input, { auth: false }),
  login: (login: string, password: string) =>
    api.post<AuthResult>('/auth/login', { login, password }, { auth: false }),
  refresh: (refresh_token: string) => api.post<Tokens>('/auth/refresh', { refresh_token }, { auth: false }),
  logout: (refresh_token: string) => api.post<void>('/auth/logout', { refresh_token }),
}

export const meApi = {
  get: () => api.get<Me>('/me'),
  update: (patch: ProfilePatch) => api.patch<Me>('/me', patch),
  changePassword: (current_password: string, new_password: string) =>
    api.post<void>('/me/password', { current_password, new_password }),
}

export const addressApi = {
  list: () => api.get<Address[]>('/addresses'),
  get: (id: Address['id']) => api.get<Address>(`/addresses/${id}`),
  create: (input: AddressInput) => api.post<Address>('/addresses', input),
  update: (id: Address['id'], patch: Partial<AddressInput>) => api.patch<Address>(`/addresses/${id}`, patch),
  remove: (id: Address['id']) => api.del(`/addresses/${id}`),
}

export interface UserListQuery {
  q?: string
  is_staff?: boolean
  role?: string
  limit?: number
  offset?: number
}

export interface CreateStaffInput {
  email?: string
  phone?: string
  password: string
  name: string
  roles: string[]
}

export interface UpdateUserInput {
  name?: string
  is_active?: boolean
  roles?: string[]
}

export interface AuditQuery {
  actor_id?: string
  action?: string
  subject_type?: string
  subject_id?: string
  outcome?: AuditOutcome | ''
  since?: string
  until?: string
  limit?: number
  offset?: number
}

export const adminApi = {
  listUsers: (query: UserListQuery) => api.get<Page<StaffUser>>('/admin/users', { ...query }),
  getUser: (id: StaffUser['id']) => api.get<StaffUserDetail>(`/admin/users/${id}`),
  createUser: (input: CreateStaffInput) => api.post<StaffUser>('/admin/users', input),
  updateUser: (id: StaffUser['id'], patch: UpdateUserInput) => api.patch<StaffUser>(`/admin/users/${id}`, patch),

  listRoles: () => api.get<Role[]>('/admin/roles'),
  createRole: (input: { name: string; description: string; permissions: string[] }) =>
    api.post<Role>('/admin/roles', input),
  updateRole: (name: string, patch: { description?: string; permissions?: string[] }) =>
    api.patch<Role>(`/admin/roles/${encodeURIComponent(name)}`, patch),
  deleteRole: (name: string) => api.del(`/admin/roles/${encodeURIComponent(name)}`),
  listPermissions: () => api.get<Permission[]>('/admin/permissions'),

  listAudit: (query: AuditQuery) => api.get<Page<AuditEntry>>('/admin/audit', { ...query }),
}
