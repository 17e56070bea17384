package io.quarry.mining;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.message.MiningMessage;
import io.quarry.mining.MiningStateRepository.StopReason;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * An offset or a page number always grows, so the guards compare the pages' last items instead: an
 * API that ignores the position is stopped like a cycle, across messages too.
 */
class CountedPositionGuardTest {

  private final MiningMessage first = MiningMessage.first("orders", 1, UUID.randomUUID(), 10, 3);

  @Test
  void aPageEndingLikeAnEarlierOneStopsTheChainAsACycle() {
    MiningChain chain = new MiningChain(first, "u1", "token", List.of());
    chain.pageFetched(10, "10", true, 100, true, "item-9");
    chain.pageFetched(10, "20", true, 100, true, "item-19");
    assertThat(chain.stopped()).isFalse();
    assertThat(chain.fetchedMarkers()).containsExactly("item-9", "item-19");

    chain.pageFetched(10, "30", true, 100, true, "item-19");

    assertThat(chain.stopReason()).isEqualTo(StopReason.MARKER_CYCLE);
    assertThat(chain.stopDetail()).contains("item-19").contains("ignores the position");
  }

  @Test
  void theLastItemsOfEarlierMessagesCountAndPositionsAreNeverKept() {
    MiningChain chain =
        new MiningChain(first.continueAt("20", 0, 2, 20), "u1", "token", List.of("item-9"));
    chain.pageFetched(10, "30", true, 100, true, "item-29");
    assertThat(chain.stopped()).isFalse();
    assertThat(chain.fetchedMarkers()).containsExactly("item-29");

    chain.pageFetched(10, "40", true, 100, true, "item-9");

    assertThat(chain.stopReason()).isEqualTo(StopReason.MARKER_CYCLE);
  }

  @Test
  void anEmptyLastPageEndsTheDataWithoutAComparison() {
    MiningChain chain = new MiningChain(first.continueAt("20", 0, 2, 20), "u1", "t", List.of());
    chain.pageFetched(0, "20", false, 100, true, null);

    assertThat(chain.stopReason()).isEqualTo(StopReason.END_OF_DATA);
    assertThat(chain.fetchedMarkers()).isEmpty();
  }
}
