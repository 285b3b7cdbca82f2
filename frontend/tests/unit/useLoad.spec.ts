import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/client'
import { useLoad } from '@/composables/useLoad'
import { usePaged } from '@/composables/usePaged'
import type { Page } from '@/api/types'
import { settle } from './mountApp'

const down = () => new ApiError(503, { code: 'SERVICE_UNAVAILABLE', detail: '服务暂时不可用' })

describe('useLoad', () => {
  it('shows why a load failed and clears it when a retry works', async () => {
    let fail = true
    const list = useLoad(async () => {
      if (fail) throw down()
      return ['a', 'b']
    }, [] as string[])
    await settle()
    expect(list.error.value).toBe('服务暂时不可用')
    expect(list.data.value).toEqual([])
    expect(list.loading.value).toBe(false)
    fail = false
    await list.load()
    expect(list.error.value).toBe('')
    expect(list.data.value).toEqual(['a', 'b'])
  })

  it('keeps only the newest of overlapping loads', async () => {
    const answers: ((v: number) => void)[] = []
    const value = useLoad(() => new Promise<number>((resolve) => answers.push(resolve)), 0, { immediate: false })
    const first = value.load()
    const second = value.load()
    answers[1](2)
    answers[0](1)
    await Promise.all([first, second])
    expect(value.data.value).toBe(2)
  })
})

describe('usePaged', () => {
  const page = (items: number[], total: number, limit: number, offset: number): Page<number> => ({ items, total, limit, offset })

  it('steps back from a page past the end', async () => {
    const asked: number[] = []
    const list = usePaged<number>(async (limit, offset) => {
      asked.push(offset)
      return offset >= 20 ? page([], 15, limit, offset) : page([offset + 1], 15, limit, offset)
    }, 10)
    list.page.value = 3
    await list.load()
    expect(asked).toEqual([20, 10])
    expect(list.page.value).toBe(2)
    expect(list.items.value).toEqual([11])
  })

  it('keeps the error for the page to show with a retry', async () => {
    let fail = true
    const list = usePaged<number>(async (limit, offset) => {
      if (fail) throw down()
      return page([1, 2], 2, limit, offset)
    })
    await list.load()
    expect(list.error.value).toBe('服务暂时不可用')
    fail = false
    await list.reload()
    expect(list.error.value).toBe('')
    expect(list.total.value).toBe(2)
  })
})
