// Types mirroring the backend API contract (/api/v1).

export type Gender = 'male' | 'female' | 'other' | 'unknown'

export interface Tokens {
  access_token: string
  refresh_token: string
  token_type: 'bearer'
  expires_in: number
}

export interface Me {
  id: number | string
  email: string | null
  phone: string | null
  name: string
  gender: Gender
  birth_date: string | null
  region: string
  city: string
  occupation: string
  real_name: string | null
  id_number: string | null
  is_staff: boolean
  roles: string[]
  permissions: string[]
  created_at: string
}

export interface AuthResult {
  user: Me
  tokens: Tokens
}

export type ProfilePatch = Partial<
  Pick<Me, 'name' | 'gender' | 'birth_date' | 'region' | 'city' | 'occupation' | 'real_name' | 'id_number'>
>

export interface Address {
  id: number | string
  recipient: string
  phone: string
  province: string
  city: string
  district: string
  detail: string
  /** Six digits, or '' when not given. */
  postal_code: string
  is_default: boolean
}

export type AddressInput = Omit<Address, 'id'>

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export interface StaffUser {
  id: number | string
  email: string | null
  phone: string | null
  name: string
  is_staff: boolean
  is_active: boolean
  roles: string[]
  created_at: string
  last_login_at: string | null
}

export interface StaffUserDetail extends StaffUser {
  gender: Gender
  birth_date: string | null
  region: string
  city: string
  occupation: string
  real_name: string | null
  id_number: string | null
  /** True when personal fields are masked for this viewer. */
  masked?: boolean
}

export interface Role {
  name: string
  description: string
  builtin: boolean
  permissions: string[]
}

export interface Permission {
  code: string
  description: string
}

export type AuditOutcome = 'success' | 'denied' | 'failure'

export interface AuditEntry {
  id: number | string
  at: string
  actor_id: number | string | null
  actor_login: string | null
  action: string
  subject_type: string | null
  subject_id: string | number | null
  ip: string | null
  outcome: AuditOutcome
  request_id?: string | null
  detail: Record<string, unknown> | null
}

export interface FieldError {
  field: string
  code?: string
  message: string
}

/** RFC 9457 problem details, plus the extension members the backend uses. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  request_id?: string
  errors?: FieldError[]
  retry_after?: number
  [key: string]: unknown
}
