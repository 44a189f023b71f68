import { changeFeedConformance } from '../../../test/conformance/change-feed.case.js'
import { MemoryChangeFeed } from './change-feed.js'

changeFeedConformance('memory', async () => {
  const feed = new MemoryChangeFeed()
  return { feed, close: () => feed.close() }
})
