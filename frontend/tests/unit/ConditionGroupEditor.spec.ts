// The rule editor's groups and rows: rows and nested groups are added, negated and removed in place, a column's
// operators follow its kind, and what the editor holds is the tree the API takes.
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { reactive } from 'vue'
import ConditionGroupEditor from '@/components/ConditionGroupEditor.vue'
import { TreeInvalid, newGroup, toJson, type Group } from '@/utils/conditions'
import { mountApp, settle } from './mountApp'

vi.mock('@/api/services', () => ({
  catalogApi: {
    categories: async () => [
      { id: 1, code: 'hypertension', parent_code: null, name_zh: '高血压', name_en: 'Hypertension', product_count: 1, children: [] },
    ],
  },
}))

beforeEach(() => {
  document.body.innerHTML = ''
})

const tags = [{ code: 'rfm_group', label: 'RFM 客户分群 (rfm_group)' }]

describe('ConditionGroupEditor', () => {
  it('adds, negates and removes rows and groups, and holds the tree the API takes', async () => {
    const tree = reactive<Group>(newGroup('all'))
    const wrapper = mountApp(ConditionGroupEditor, { props: { modelValue: tree, tags } })
    await settle()
    expect(wrapper.findAll('[data-testid="tree-row"]')).toHaveLength(1)

    await wrapper.find('[data-testid="tree-add-event"]').trigger('click')
    await wrapper.find('[data-testid="tree-add-group"]').trigger('click')
    await settle()
    expect(wrapper.findAll('[data-testid="tree-row"]').map((r) => r.attributes('data-path'))).toEqual(['1.1', '1.2', '1.3.1'])
    const nested = wrapper.find('[data-testid="tree-group"][data-path="1.3"]')
    expect(nested.exists()).toBe(true)
    await nested.find('[data-testid="tree-group-not"] input').setValue(true)
    await nested.find('[data-testid="tree-add-tag"]').trigger('click')
    await settle()
    expect(() => toJson(tree)).toThrow(TreeInvalid)
    try {
      toJson(tree)
    } catch (err) {
      expect((err as TreeInvalid).problem).toEqual({ key: 'noValue', at: '1.3.2' })
    }
    await wrapper.find('[data-testid="tree-row"][data-path="1.3.2"] [data-testid="tree-value"]').setValue('重要价值客户')
    expect(toJson(tree)).toEqual({
      all: [
        { field: 'orders', op: 'ge', value: 1 },
        { event: 'Order Completed', min: 1, within_days: 30 },
        { not: { any: [{ field: 'orders', op: 'ge', value: 1 }, { tag: 'rfm_group', op: 'eq', value: '重要价值客户' }] } },
      ],
    })
  }, 60_000)

  it('removes a row and a nested group', async () => {
    const tree = reactive<Group>(newGroup('any', [newGroup('all'), { type: 'field', field: 'age', op: 'ge', value: '30', negate: false }]))
    const wrapper = mountApp(ConditionGroupEditor, { props: { modelValue: tree, tags } })
    await settle()
    await wrapper.find('[data-testid="tree-row"][data-path="1.2"] [data-testid="tree-row-remove"]').trigger('click')
    expect(tree.children).toHaveLength(1)
    await wrapper.find('[data-testid="tree-group-remove"]').trigger('click')
    await settle()
    expect(tree.children).toHaveLength(0)
    expect(wrapper.text()).toContain('里还没有条件')
  }, 60_000)
})
