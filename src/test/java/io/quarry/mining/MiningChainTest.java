package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.message.MiningMessage;
import io.quarry.mining.MiningStateRepository.StopReason;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The stop decisions of docs/architecture.md (The mining message), page by page, without a broker
 * or a database.
 */
class MiningChainTest {

  private final MiningMessage first = MiningMessage.first("posts", 1, UUID.randomUUID(), 100, 3);

  private MiningChain chain(MiningMessage message, List<String> seen) {
    return new MiningChain(message, "u1", "token", seen);
  }

  @Test
  void goesOnWhileThereIsMoreAndStopsAtTheEnd() {
    MiningChain chain = chain(first, List.of());
    chain.pageFetched(20, "m-2", true, 100);
    assertThat(chain.stopped()).isFalse();
    assertThat(chain.marker()).isEqualTo("m-2");
    chain.pageFetched(20, null, false, 100);
    assertThat(chain.stopReason()).isEqualTo(StopReason.END_OF_DATA);
    assertThat(chain.continuation().itemsMined()).isEqualTo(40);
  }

  @Test
  void stopsWhenTheSameMarkerRepeatsUpToTheLimit() {
    MiningChain chain = chain(first.continueAt("m-5", 0, 4, 80), List.of("m-2", "m-3", "m-4"));
    chain.pageFetched(20, "m-5", true, 100);
    chain.pageFetched(20, "m-5", true, 100);
    assertThat(chain.stopped()).isFalse();
    chain.pageFetched(20, "m-5", true, 100);
    assertThat(chain.stopReason()).isEqualTo(StopReason.MARKER_REPEATED);
  }

  @Test
  void aRepeatCountCarriesOverFromTheMessage() {
    MiningChain chain = chain(first.continueAt("m-5", 2, 4, 80), List.of());
    chain.pageFetched(20, "m-5", true, 100);
    assertThat(chain.stopReason()).isEqualTo(StopReason.MARKER_REPEATED);
  }

  @Test
  void stopsWhenAMarkerSeenEarlierInTheRunComesBack() {
    MiningChain chain = chain(first.continueAt("m-3", 0, 2, 40), List.of("m-2"));
    chain.pageFetched(20, "m-2", true, 100);
    assertThat(chain.stopReason()).isEqualTo(StopReason.MARKER_CYCLE);
  }

  @Test
  void stopsAtTheMaximumPagesOfARun() {
    MiningChain chain = chain(first.continueAt("m-5", 0, 4, 80), List.of());
    chain.pageFetched(20, "m-6", true, 5);
    assertThat(chain.stopReason()).isEqualTo(StopReason.MAX_PAGES);
    assertThat(chain.pages()).isEqualTo(5);
  }
}
