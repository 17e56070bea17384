package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.Mockito.doAnswer;
import static org.mockito.Mockito.mock;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.bus.Topology;
import io.quarry.deadletter.DeadLetterRetry;
import io.quarry.routes.deadletter.DeadLetterRoutes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;

/** The dead-letter retry route consumes every .dlq and hands each message to the classifier. */
class DeadLetterRoutesTest extends CamelTestSupport {

  private final DeadLetterRetry retry = mock(DeadLetterRetry.class);
  private final List<Map<String, Object>> handled = new ArrayList<>();
  private final BusNames names = new BusNames("qa");
  private final Topology topology =
      Topology.of(RouteTestProperties.withStream("posts", false), names);

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() throws Exception {
    context.getRegistry().bind("retry", retry);
    doAnswer(
            invocation -> {
              handled.add(
                  Map.copyOf(
                      ((org.apache.camel.Exchange) invocation.getArgument(0))
                          .getMessage()
                          .getHeaders()));
              return null;
            })
        .when(retry)
        .handle(any());
    return new DeadLetterRoutes(topology, names, new Endpoints(names));
  }

  @Test
  void consumesEveryDeadLetterQueueAndHandsEachMessageOver() throws Exception {
    String uri = context.getRouteDefinition("dead-letter-retry").getInput().getEndpointUri();
    assertThat(uri)
        .contains("posts-mining-queue.dlq-qa")
        .contains("posts-data-topic.raw-storage.dlq-qa")
        .contains("notification.integration-events.dlq-qa")
        .contains("rejectAndDontRequeue=false");

    AdviceWith.adviceWith(context, "dead-letter-retry", a -> a.replaceFromWith("direct:dlq"));
    context.start();
    template.sendBodyAndHeader("direct:dlq", "{}", "x-quarry-reason", "boom");

    assertThat(handled)
        .singleElement()
        .satisfies(h -> assertThat(h).containsEntry("x-quarry-reason", "boom"));
  }
}
