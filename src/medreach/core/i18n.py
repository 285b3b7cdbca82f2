"""Localized messages for error codes. zh-CN is the default; English on Accept-Language: en."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "VALIDATION_ERROR": ("请求参数有误", "The request has invalid fields"),
    "MALFORMED_BODY": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "BODY_TOO_LARGE": ("请求体过大（上限 {limit} 字节）", "Request body too large (limit {limit} bytes)"),
    "NOT_FOUND": ("资源不存在", "Not found"),
    "METHOD_NOT_ALLOWED": ("不支持该请求方法", "Method not allowed"),
    "NOT_AUTHENTICATED": ("请先登录", "Authentication required"),
    "INVALID_TOKEN": ("登录凭证无效", "The token is invalid"),
    "TOKEN_EXPIRED": ("登录已过期，请重新登录", "The token has expired"),
    "PERMISSION_DENIED": ("没有权限：需要 {permission}", "Permission denied: {permission} required"),
    "INVALID_CREDENTIALS": ("账号或密码错误", "Wrong login or password"),
    "LOGIN_LOCKED": ("登录失败次数过多，请 {retry_after} 秒后再试",
                     "Too many failed logins; try again in {retry_after} s"),
    "ACCOUNT_DISABLED": ("账号已停用", "This account is disabled"),
    "LOGIN_TAKEN": ("该{field}已被注册", "This {field} is already registered"),
    "CONFLICT": ("数据冲突", "Conflict"),
    "ROLE_UNKNOWN": ("角色不存在：{role}", "Unknown role: {role}"),
    "ROLE_BUILTIN": ("内置角色不可删除或改名", "Built-in roles cannot be deleted"),
    "ROLE_IN_USE": ("角色仍有用户，不能删除", "The role is still assigned to users"),
    "ROLE_NOT_STAFF": ("员工账号不能使用顾客角色", "Staff accounts cannot hold the customer role"),
    "PERMISSION_UNKNOWN": ("权限不存在：{permission}", "Unknown permission: {permission}"),
    "WRONG_PASSWORD": ("当前密码不正确", "The current password is wrong"),
    "LAST_ADMIN": ("不能移除最后一个管理员", "The last active admin cannot be removed"),
    "INTERNAL_ERROR": ("服务器内部错误", "Internal server error"),
}


def message(code: str, lang: str = "zh-CN", **params) -> str:
    zh, en = MESSAGES.get(code, (code, code))
    text = en if lang.startswith("en") else zh
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def pick_language(accept_language: str | None) -> str:
    if accept_language and accept_language.strip().lower().startswith("en"):
        return "en"
    return "zh-CN"
