package io.quarry.routes;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

import io.quarry.mining.MiningScheduler;
import io.quarry.monitoring.PipelineMetrics;
import io.quarry.routes.scheduling.StreamSchedulerRoutes;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.AdviceWith;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.test.junit5.CamelTestSupport;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

/** The scheduler route with its database read mocked: fan out only after a successful read. */
class StreamSchedulerRoutesTest extends CamelTestSupport {

  private final MiningScheduler scheduler = mock(MiningScheduler.class);
  private final PipelineMetrics metrics = mock(PipelineMetrics.class);

  @Override
  public boolean isUseAdviceWith() {
    return true;
  }

  @Override
  protected RoutesBuilder createRouteBuilder() {
    context.getRegistry().bind("miningScheduler", scheduler);
    context.getRegistry().bind("pipelineMetrics", metrics);
    // never used: the sql endpoint is mocked and skipped, but it must resolve
    context.getRegistry().bind("dataSource", mock(javax.sql.DataSource.class));
    return new StreamSchedulerRoutes(RouteTestProperties.withStream("posts", false));
  }

  private MockEndpoint adviseAndStart() throws Exception {
    AdviceWith.adviceWith(context, "posts-scheduler-tick", a -> a.replaceFromWith("direct:tick"));
    AdviceWith.adviceWith(context, "posts-scheduler", a -> a.mockEndpointsAndSkip("sql:*"));
    context.start();
    return getMockEndpoint("mock:sql:classpath:sql/active-users.sql");
  }

  @Test
  void aTickReadsTheActiveUsersThenFansThemOut() throws Exception {
    MockEndpoint sql = adviseAndStart();
    List<Map<String, Object>> users = List.of(Map.of("id", 1L), Map.of("id", 2L));
    sql.whenAnyExchangeReceived(exchange -> exchange.getMessage().setBody(users));
    sql.expectedMessageCount(1);

    template.sendBody("direct:tick", null);

    sql.assertIsSatisfied();
    verify(scheduler).startRun(eq("posts"), any());
    verify(scheduler).releaseAbandoned("posts");
    @SuppressWarnings("unchecked")
    ArgumentCaptor<List<Map<String, Object>>> read = ArgumentCaptor.forClass(List.class);
    verify(scheduler).fanOut(read.capture(), eq("posts"), any());
    assertThat(read.getValue()).isEqualTo(users);
    verify(scheduler, never()).failRun(any(), any(), any());
    verify(metrics).tick("posts", "succeeded");
    verify(metrics, never()).tick("posts", "failed");
  }

  @Test
  void aFailedReadSendsNothingAndFailsTheRun() throws Exception {
    MockEndpoint sql = adviseAndStart();
    sql.whenAnyExchangeReceived(
        exchange -> {
          throw new SQLException("relation \"app_user\" does not exist");
        });

    template.sendBody("direct:tick", null);

    verify(scheduler, never()).fanOut(anyList(), any(), any());
    ArgumentCaptor<Exception> error = ArgumentCaptor.forClass(Exception.class);
    verify(scheduler).failRun(eq("posts"), any(), error.capture());
    verify(metrics).tick("posts", "failed");
    verify(metrics, never()).tick("posts", "succeeded");
    assertThat(error.getValue()).hasMessageContaining("app_user");
  }
}
