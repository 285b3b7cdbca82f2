// Follow one background job run (a clustering, a training) until it ends: its row refreshed every 1.5 s, then
// `onEnd` called once with the finished run.
import { computed, ref } from 'vue'
import type { JobRun } from '@/api/types'
import { adminJobsApi } from '@/api/services'
import { usePolling } from './usePolling'
import { describeError } from './useApiError'

export function isActiveRun(run: Pick<JobRun, 'status'> | null | undefined): boolean {
  return !!run && (run.status === 'queued' || run.status === 'running')
}

export function useJobFollow(onEnd: (run: JobRun) => void, ms = 1500) {
  const run = ref<JobRun | null>(null)
  const error = ref('')
  const active = computed(() => isActiveRun(run.value))

  async function refresh() {
    if (!run.value) return
    try {
      const latest = await adminJobsApi.run(run.value.id)
      run.value = latest
      error.value = ''
      if (!isActiveRun(latest)) onEnd(latest)
    } catch (err) {
      error.value = describeError(err)
      throw err
    }
  }

  const poll = usePolling(refresh, () => active.value, ms)

  /** Start following run `id` (just queued). */
  function follow(id: number, job: string) {
    run.value = {
      id,
      job,
      trigger: 'manual',
      status: 'queued',
      attempt: 0,
      max_attempts: 1,
      progress_done: 0,
      progress_total: null,
      message: '',
      created_at: new Date().toISOString(),
      started_at: null,
      finished_at: null,
      duration_seconds: null,
      requested_by: null,
      result: null,
      error: null,
    }
    poll.schedule()
  }

  return { run, error, active, follow }
}
