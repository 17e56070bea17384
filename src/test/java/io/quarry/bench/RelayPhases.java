package io.quarry.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.aopalliance.intercept.MethodInterceptor;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.CamelEvent;
import org.apache.camel.support.EventNotifierSupport;
import org.springframework.aop.framework.ProxyFactory;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * Where the relay's time goes ({@code -Dbench.outbox.profile=true}): times the relay route's
 * endpoint steps (the claim and mark statements, the publish with its confirm wait) with a Camel
 * event notifier, and the transaction's begin and commit by wrapping the transaction manager, on
 * the measured thread only (the relay runs on the caller's thread through {@code direct:}).
 * Production code is untouched; the notifier and the wrapper cost microseconds per batch.
 */
final class RelayPhases implements BeanPostProcessor {

  private final Map<String, AtomicLong> nanos = new LinkedHashMap<>();
  private final Map<String, AtomicLong> calls = new LinkedHashMap<>();
  private volatile Thread measured;

  RelayPhases() {
    for (String phase :
        new String[] {"begin", "claim", "publish + confirms", "mark published", "commit"}) {
      nanos.put(phase, new AtomicLong());
      calls.put(phase, new AtomicLong());
    }
  }

  /** Starts counting the calls the given thread makes, from zero. */
  void measure(Thread thread) {
    nanos.values().forEach(v -> v.set(0));
    calls.values().forEach(v -> v.set(0));
    measured = thread;
  }

  void stop() {
    measured = null;
  }

  /** One line: the share of {@code totalNanos} spent in each phase; the rest is Camel's own. */
  String report(long totalNanos) {
    StringBuilder line = new StringBuilder();
    long accounted = 0;
    for (Map.Entry<String, AtomicLong> phase : nanos.entrySet()) {
      long n = phase.getValue().get();
      accounted += n;
      line.append(
          String.format(
              Locale.ROOT,
              "%s %.2f s (%.0f%%, %d calls, %.1f ms each); ",
              phase.getKey(),
              n / 1e9,
              100.0 * n / totalNanos,
              calls.get(phase.getKey()).get(),
              calls.get(phase.getKey()).get() == 0
                  ? 0.0
                  : n / 1e6 / calls.get(phase.getKey()).get()));
    }
    long rest = totalNanos - accounted;
    line.append(
        String.format(
            Locale.ROOT,
            "rest (Camel, message building, loop) %.2f s (%.0f%%)",
            rest / 1e9,
            100.0 * rest / totalNanos));
    return line.toString();
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    if (bean instanceof CamelContext camel) {
      camel.getManagementStrategy().addEventNotifier(new EndpointTimer());
      return bean;
    }
    if (bean instanceof PlatformTransactionManager) {
      return wrapInterfaces( // its getTransaction and commit are final: a class proxy would skip
          // them
          bean,
          (MethodInterceptor)
              invocation ->
                  switch (invocation.getMethod().getName()) {
                    case "getTransaction" -> timed("begin", invocation);
                    case "commit" -> timed("commit", invocation);
                    default -> invocation.proceed();
                  });
    }
    return bean;
  }

  private Object timed(String phase, org.aopalliance.intercept.MethodInvocation invocation)
      throws Throwable {
    if (Thread.currentThread() != measured) {
      return invocation.proceed();
    }
    long start = System.nanoTime();
    try {
      return invocation.proceed();
    } finally {
      nanos.get(phase).addAndGet(System.nanoTime() - start);
      calls.get(phase).incrementAndGet();
    }
  }

  private static Object wrapInterfaces(Object bean, MethodInterceptor interceptor) {
    ProxyFactory factory = new ProxyFactory(bean); // every interface of the bean, no subclass
    factory.setProxyTargetClass(false);
    factory.addAdvice(interceptor);
    return factory.getProxy();
  }

  private static String phaseOf(String endpointUri) {
    if (endpointUri.startsWith("quarry-amqp:")) {
      return "publish + confirms";
    }
    if (endpointUri.contains("claim-due.sql")) {
      return "claim";
    }
    if (endpointUri.contains("mark-published.sql")) {
      return "mark published";
    }
    return null;
  }

  /** Adds up the time of the relay's claim, publish and mark steps on the measured thread. */
  private final class EndpointTimer extends EventNotifierSupport {
    private long sendingSince;

    @Override
    public void notify(CamelEvent event) {
      if (Thread.currentThread() != measured) {
        return;
      }
      if (event instanceof CamelEvent.ExchangeSendingEvent sending
          && phaseOf(sending.getEndpoint().getEndpointUri()) != null) {
        sendingSince = System.nanoTime();
      } else if (event instanceof CamelEvent.ExchangeSentEvent sent) {
        String phase = phaseOf(sent.getEndpoint().getEndpointUri());
        if (phase != null) {
          nanos.get(phase).addAndGet(System.nanoTime() - sendingSince);
          calls.get(phase).incrementAndGet();
        }
      }
    }

    @Override
    public boolean isEnabled(CamelEvent event) {
      return event instanceof CamelEvent.ExchangeSendingEvent
          || event instanceof CamelEvent.ExchangeSentEvent;
    }
  }
}
