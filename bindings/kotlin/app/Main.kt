// A small JVM program that drives kobiri-mobile through the generated Kotlin bindings, as
// the Android app would, and exits non-zero if any check fails.
//
//   kotlinc -cp /usr/share/java/jna.jar bindings/kotlin/uniffi/kobiri_mobile/kobiri_mobile.kt \
//       bindings/kotlin/app/Main.kt -d app.jar
//   java -Djna.library.path=target/debug \
//       -cp app.jar:/usr/share/java/jna.jar:<kotlinc>/lib/kotlin-stdlib.jar MainKt [OPTIONS]
//
// Without options it checks what needs no server (an empty database, the typed errors before
// login and enrollment). With a server (see bindings/python/tests/with_server.py, which
// starts one and appends these options):
//
//   --server URL --login EMAIL --password PASSWORD --tontine ID --session ID --member ID
//
// it also logs in as the collector, enrolls, pulls, is refused adding a member (only the
// president may), records one cash payment and syncs it.
// `--db-dir DIR` puts the phone databases there instead of a new temporary folder.

import java.nio.file.Files
import java.nio.file.Path
import kotlin.system.exitProcess
import uniffi.kobiri_mobile.KobiriClient
import uniffi.kobiri_mobile.MobileException
import uniffi.kobiri_mobile.SyncState

private var passed = 0
private var failed = 0

private fun check(name: String, ok: Boolean, detail: () -> String = { "" }) {
    if (ok) {
        passed++
        println("ok   - $name")
    } else {
        failed++
        val why = detail()
        println("FAIL - $name" + if (why.isEmpty()) "" else ": $why")
    }
}

/** Runs `block`, expecting a [MobileException] of type [E] whose `code()` is [code]. */
private inline fun <reified E : MobileException> expectError(
    name: String,
    code: String,
    block: () -> Unit,
): E? {
    try {
        block()
    } catch (e: MobileException) {
        // Every variant carries its French text: neither `message` nor `userMessage()` is blank.
        val ok = e is E && e.code() == code && e.userMessage().isNotBlank() &&
            !e.message.isNullOrBlank()
        check(name, ok) {
            "got ${e::class.simpleName} code=${e.code()} message=${e.message} " +
                "userMessage=${e.userMessage()}"
        }
        return e as? E
    } catch (e: Throwable) {
        check(name, false) { "unexpected ${e::class.qualifiedName}: ${e.message}" }
        return null
    }
    check(name, false) { "no error raised" }
    return null
}

/** Runs a step; an unexpected exception is a failed check, not a crash. */
private inline fun step(name: String, block: () -> Unit) {
    try {
        block()
    } catch (e: Throwable) {
        check(name, false) { "unexpected ${e::class.qualifiedName}: ${e.message}" }
    }
}

private fun options(args: Array<String>): Map<String, String> {
    val known = setOf("server", "login", "password", "tontine", "session", "member", "db-dir")
    val out = mutableMapOf<String, String>()
    var i = 0
    while (i < args.size) {
        val key = args[i].removePrefix("--")
        require(args[i].startsWith("--") && key in known && i + 1 < args.size) {
            "usage: MainKt [--db-dir DIR] [--server URL --login EMAIL --password PW " +
                "--tontine ID --session ID --member ID] (got ${args[i]})"
        }
        out[key] = args[i + 1]
        i += 2
    }
    return out
}

private fun offline(dir: Path) {
    val some = java.util.UUID.randomUUID().toString()
    KobiriClient.open(dir.resolve("offline.db").toString(), "http://127.0.0.1:9").use { client ->
        step("sync_status on an empty database") {
            val status = client.syncStatus()
            check("empty database: nothing pending", status.pendingCount == 0uL) { "$status" }
            check(
                "empty database: no device, cursor, sync or error",
                status.deviceId == null && status.cursors.isEmpty() &&
                    status.lastSyncAt == null && status.lastError == null &&
                    status.oldestPendingAgeSeconds == null,
            ) { "$status" }
            check("empty database: no tontine", client.listTontines().isEmpty())
        }
        val notEnrolled = expectError<MobileException.NotEnrolled>("record before enrollment: not_enrolled", "not_enrolled") {
            client.recordCashPayment(some, some, some, "5000")
        }
        check(
            "not_enrolled carries its French text in detail",
            notEnrolled != null && notEnrolled.detail.isNotBlank() &&
                notEnrolled.detail == notEnrolled.userMessage(),
        ) { "${notEnrolled?.detail}" }
        expectError<MobileException.NotEnrolled>("sync before enrollment: not_enrolled", "not_enrolled") {
            client.sync()
        }
        val notLoggedIn = expectError<MobileException.NotLoggedIn>("enroll before login: not_logged_in", "not_logged_in") {
            client.enrollDevice("Téléphone", "android")
        }
        check(
            "not_logged_in carries its French text in detail and message",
            notLoggedIn != null && notLoggedIn.detail.isNotBlank() &&
                notLoggedIn.message?.contains(notLoggedIn.detail) == true,
        ) { "${notLoggedIn?.message}" }
        val e = expectError<MobileException.Validation>("batch size 0: validation", "validation") {
            client.setBatchSize(0u)
        }
        check("batch size 0 names its field", e?.`field` == "batch_size") { "${e?.`field`}" }
        check("no refused call queued anything", client.syncStatus().pendingCount == 0uL)
    }
    val bad = expectError<MobileException.Validation>("open with an ftp:// address: validation", "validation") {
        KobiriClient.open(dir.resolve("bad.db").toString(), "ftp://kobiri.example").close()
    }
    check("the bad address names server_url", bad?.`field` == "server_url") { "${bad?.`field`}" }
}

private fun online(dir: Path, o: Map<String, String>) {
    val tontine = o.getValue("tontine")
    val session = o.getValue("session")
    val member = o.getValue("member")
    KobiriClient.open(dir.resolve("collector.db").toString(), o.getValue("server")).use { client ->
        client.setRetryPolicy(2u, 50uL)
        expectError<MobileException.Unauthorized>("wrong password: unauthorized", "unauthorized") {
            client.login(o.getValue("login"), "Mauvais2026")
        }
        step("login, enroll (idempotent), pull") {
            client.login(o.getValue("login"), o.getValue("password"))
            val device = client.enrollDevice("Téléphone de terrain", "android")
            check("enroll_device returns a device id", device.length == 36) { device }
            check("enroll_device again returns the same id", client.enrollDevice("x", "android") == device)
            val report = client.pull()
            check("pull brings changes", report.pulledChanges > 0uL && !report.hasMore) { "$report" }
            val tontines = client.listTontines()
            check("the tontine is on the phone", tontines.map { it.id } == listOf(tontine)) { "$tontines" }
            check("its contribution is 5000 XOF", tontines.firstOrNull()?.let { it.contributionAmount == "5000" && it.currency == "XOF" } == true)
            check("the member is listed", client.listMembers(tontine).any { it.id == member && it.role == "membre" })
            val sessions = client.listSessions(tontine)
            check("the open session is listed", sessions.any { it.id == session && it.status == "en_cours" }) { "$sessions" }
            val status = client.syncStatus()
            check("the pull set a cursor", status.cursors.singleOrNull()?.let { it.tontineId == tontine && it.cursor > 0uL } == true) { "$status" }
            check("sync_status knows the device", status.deviceId == device)
        }
        val wrong = expectError<MobileException.Validation>("wrong amount: validation", "validation") {
            client.recordCashPayment(tontine, session, member, "4000")
        }
        check("the wrong amount names its field", wrong?.`field` == "amount") { "${wrong?.`field`}" }
        val unknown = java.util.UUID.randomUUID().toString()
        expectError<MobileException.NotFound>("unknown member: not_found", "not_found") {
            client.recordCashPayment(tontine, session, unknown, "5000")
        }
        val forbidden = expectError<MobileException.Forbidden>("a collector adding a member: forbidden", "forbidden") {
            client.recordMember(tontine, "+221765551234", "Ousmane", "Gueye")
        }
        check("forbidden carries its French text", forbidden?.detail?.isNotBlank() == true) { "${forbidden?.detail}" }
        check("the refused member queued nothing", client.syncStatus().pendingCount == 0uL)
        step("record a cash payment offline and sync it") {
            val receipt = client.recordCashPayment(tontine, session, member, "5000")
            check("the receipt has a code", Regex("^[A-Z0-9]{4}-[A-Z0-9]{4}$").matches(receipt.receiptCode)) { receipt.receiptCode }
            check("the receipt shows 5000 XOF, session 1", receipt.amount == "5000" && receipt.currency == "XOF" && receipt.sessionNumber == 1u) { "$receipt" }
            check("one mutation pending", client.syncStatus().pendingCount == 1uL)
            val held = client.reconciliation().cashHeld
            check("the collector holds 5000", held.map { it.amount } == listOf("5000")) { "$held" }
            val report = client.sync()
            check("sync pushed and applied it", report.pushed == 1uL && report.applied == 1uL && report.rejected == 0uL) { "$report" }
            check("nothing pending after sync", client.syncStatus().pendingCount == 0uL)
            val payment = client.listPayments(tontine).find { it.id == receipt.paymentId }
            check(
                "the payment is applied, with its receipt code",
                payment != null && payment.syncState == SyncState.APPLIED && payment.receiptCode == receipt.receiptCode && payment.recordedHere,
            ) { "$payment" }
            val view = client.reconciliation()
            check("reconciliation: accepted", view.accepted.map { it.subjectId } == listOf(receipt.paymentId)) { "$view" }
            println("receipt ${receipt.receiptCode} for payment ${receipt.paymentId}")
        }
    }
}

fun main(args: Array<String>) {
    val o = try {
        options(args)
    } catch (e: IllegalArgumentException) {
        System.err.println(e.message)
        exitProcess(2)
    }
    val dir = o["db-dir"]?.let { Path.of(it).also { p -> Files.createDirectories(p) } }
        ?: Files.createTempDirectory("kobiri-kotlin-")
    step("checks without a server") { offline(dir) }
    val needed = listOf("server", "login", "password", "tontine", "session", "member")
    if (needed.all { it in o }) {
        step("checks against the server") { online(dir, o) }
    } else {
        println("(no --server given: skipped the checks against a server)")
    }
    println("kotlin: $passed checks passed, $failed failed")
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}
