package io.quarry.bench;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.mining.MiningStateRepository;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.aopalliance.intercept.MethodInterceptor;
import org.aopalliance.intercept.MethodInvocation;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.springframework.aop.framework.Advised;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;

/**
 * Where a scheduler tick's time goes: wraps the beans {@code MiningScheduler} calls and notes,
 * while a tick is measured (only the measured tick runs then), how long opening the run record, the
 * page reads (the route's camel-sql query, timed by Camel's sent events), the claims and publishing
 * took: the whole {@code BatchPublisher.publishAll} (sending and waiting for the confirms), and of
 * it the sending, read from the publisher's own {@value BatchPublisher#BATCH_TIMER} timer ({@code
 * phase=send}). Production code is untouched; the wrappers cost microseconds per batch.
 *
 * <p>The route publishes a page while it reads and claims the next on another thread, so the phases
 * overlap: each is the sum of its calls, on whichever thread. What they leave of the tick is split
 * in two: the time before the first publish (opening the run, the first page's read and claim, its
 * first messages) and the rest, in which the publishing branch was not publishing (waiting for a
 * claim that took longer than the page's confirms, turning claims into messages, Camel).
 */
final class FanoutPhases implements BeanPostProcessor {

  /** One tick, in nanoseconds. */
  record Split(
      long total,
      long startRun,
      long read,
      long reads,
      long claim,
      long claims,
      long beforeFirstPublish,
      long publish,
      long send,
      long publishCalls,
      long finishRun) {

    long awaitConfirms() {
      return publish - send;
    }

    /** The tick besides its first claim, its publishing and closing the run. */
    long rest() {
      return total - beforeFirstPublish - publish - finishRun;
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "open run %.2f s, read %.2f s (%d queries), claim %.2f s (%d statements), until the"
              + " first publish %.2f s, publish %.2f s (%d confirmed batches: send %.2f s, await"
              + " confirms %.2f s), close run %.2f s, rest (publishing idle: messages, Camel,"
              + " claims not hidden) %.2f s",
          startRun / 1e9,
          read / 1e9,
          reads,
          claim / 1e9,
          claims,
          beforeFirstPublish / 1e9,
          publish / 1e9,
          publishCalls,
          send / 1e9,
          awaitConfirms() / 1e9,
          finishRun / 1e9,
          rest() / 1e9);
    }
  }

  private volatile boolean measuring;
  private MeterRegistry metrics;
  private double sendTotalBefore;
  private long measuredSince;
  private final AtomicLong firstPublishAt = new AtomicLong();
  private final AtomicLong startRun = new AtomicLong();
  private final AtomicLong read = new AtomicLong();
  private final AtomicLong reads = new AtomicLong();
  private final AtomicLong claim = new AtomicLong();
  private final AtomicLong claims = new AtomicLong();
  private final AtomicLong publish = new AtomicLong();
  private final AtomicLong publishCalls = new AtomicLong();
  private final AtomicLong finishRun = new AtomicLong();

  /** The registry the publisher records its batch timer in (the context's MeterRegistry). */
  void readSendTimeFrom(MeterRegistry registry) {
    metrics = registry;
  }

  void measure() {
    for (AtomicLong phase :
        List.of(
            firstPublishAt,
            startRun,
            read,
            reads,
            claim,
            claims,
            publish,
            publishCalls,
            finishRun)) {
      phase.set(0);
    }
    sendTotalBefore = sendTotal();
    measuredSince = System.nanoTime();
    measuring = true;
  }

  Split stop(long totalNanos) {
    measuring = false;
    long send = Math.round(sendTotal() - sendTotalBefore);
    long first = firstPublishAt.get();
    return new Split(
        totalNanos,
        startRun.get(),
        read.get(),
        reads.get(),
        claim.get(),
        claims.get(),
        first == 0 ? totalNanos - finishRun.get() : first - measuredSince,
        publish.get(),
        send,
        publishCalls.get(),
        finishRun.get());
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    if (bean instanceof CamelContext camel) {
      camel.getManagementStrategy().addEventNotifier(new ReadTimer());
      return bean;
    }
    if (bean instanceof MiningStateRepository) {
      return wrap(
          bean,
          invocation -> {
            if (!measuring) {
              return invocation.proceed();
            }
            long start = System.nanoTime();
            try {
              return invocation.proceed();
            } finally {
              long took = System.nanoTime() - start;
              switch (invocation.getMethod().getName()) {
                case "startRun" -> startRun.addAndGet(took);
                case "claim" -> {
                  claim.addAndGet(took);
                  claims.incrementAndGet();
                }
                case "finishRun" -> finishRun.addAndGet(took);
                default -> {}
              }
            }
          });
    }
    if (bean instanceof BatchPublisher) {
      return wrap(
          bean,
          invocation -> {
            if (!measuring || !invocation.getMethod().getName().equals("publishAll")) {
              return invocation.proceed();
            }
            return timed(invocation);
          });
    }
    return bean;
  }

  /** Nanoseconds the publisher has spent sending batches so far. */
  private double sendTotal() {
    Timer timer = metrics.find(BatchPublisher.BATCH_TIMER).tag("phase", "send").timer();
    return timer == null ? 0 : timer.totalTime(TimeUnit.NANOSECONDS);
  }

  private Object timed(MethodInvocation invocation) throws Throwable {
    long start = System.nanoTime();
    firstPublishAt.compareAndSet(0, start);
    try {
      return invocation.proceed();
    } finally {
      publish.addAndGet(System.nanoTime() - start);
      publishCalls.incrementAndGet();
    }
  }

  /** Adds up the route's reads of a page of active users (its sends to a camel-sql endpoint). */
  private final class ReadTimer extends EventNotifierSupport {
    @Override
    public void notify(CamelEvent event) {
      if (measuring
          && event instanceof CamelEvent.ExchangeSentEvent sent
          && sent.getEndpoint().getEndpointUri().contains("active-users.sql")) {
        read.addAndGet(TimeUnit.MILLISECONDS.toNanos(sent.getTimeTaken()));
        reads.incrementAndGet();
      }
    }

    /** Camel times a send (and then tells it) only when its sending is of interest too. */
    @Override
    public boolean isEnabled(CamelEvent event) {
      return event instanceof CamelEvent.ExchangeSendingEvent
          || event instanceof CamelEvent.ExchangeSentEvent;
    }
  }

  private static Object wrap(Object bean, MethodInterceptor interceptor) {
    if (bean instanceof Advised advised && !advised.isFrozen()) {
      advised.addAdvice(0, interceptor);
      return bean;
    }
    ProxyFactory factory = new ProxyFactory(bean);
    factory.setProxyTargetClass(true);
    factory.addAdvice(interceptor);
    return factory.getProxy();
  }
}
