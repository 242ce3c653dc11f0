/** What every dashboard view provides. */
export interface ViewContext {
  /** super_admin: action buttons are shown; admins read only. */
  canAct: boolean
  /** Refresh the view now (after an action). */
  refreshNow(): void
}

export interface ViewInstance {
  refresh(): Promise<void>
  destroy?(): void
}

export interface ViewDef {
  id: string
  title: string
  /** How often the open view re-reads its endpoints, ms. */
  refreshMs: number
  /** Says whose numbers these are: this instance, or the whole cluster. */
  scope?: string
  mount(root: HTMLElement, ctx: ViewContext): ViewInstance
}
