using System.Reflection;
using System.Reflection.Emit;
using TorchSharp;

namespace PicSharp.Tests.Modeling;

/// <summary>
/// Finds, in an assembly's IL, every place that hands torch a Scalar nothing keeps alive.
/// </summary>
/// <remarks>
/// TorchSharp 0.107 passes only a Scalar's native handle to a native call, so a Scalar made for the call (an implicit
/// conversion from a number, or one TorchSharp makes inside `a + b`, `x.add(y)`, `add_(eps)`) can be finalized by
/// another thread's garbage collection while the call still reads it (docs/perf.md, 2026-12-04). A Scalar is safe
/// when a field holds it or a local that the method disposes after the call. The scan reads IL, so it sees compiler
/// output (operators, implicit conversions, lambdas, iterators) exactly as it runs.
/// </remarks>
public static class TemporaryScalarScan
{
    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    public sealed record Site(string Method, int Offset, string Reason)
    {
        public override string ToString() => $"{Method} IL_{Offset:x4}: {Reason}";
    }

    sealed record Instruction(int Offset, OpCode OpCode, int Operand);

    /// <summary>Every temporary-Scalar site in the methods of <paramref name="assembly"/>.</summary>
    public static IReadOnlyList<Site> Find(Assembly assembly) => Find(assembly.GetTypes().Where(t => !t.IsNested));

    /// <summary>Every temporary-Scalar site in the methods of <paramref name="types"/> (nested types included).</summary>
    public static IReadOnlyList<Site> Find(IEnumerable<Type> types)
    {
        var torch = typeof(TorchSharp.Scalar).Assembly;
        var methods = types.SelectMany(WithNested).SelectMany(MethodsOf).ToList();
        var scan = new TorchScan(torch, TypesUsed(methods, torch));
        var sites = new List<Site>();
        foreach (var method in methods)
        {
            var il = Decode(method);
            for (int i = 0; i < il.Count; i++)
            {
                if (!IsCall(il[i].OpCode) || Resolve(method, il[i].Operand) is not { } callee) continue;
                string name = $"{method.DeclaringType?.FullName}.{method.Name}";
                if (MakesScalar(callee))
                {
                    if (!IsHeld(method, il, i)) sites.Add(new(name, il[i].Offset, $"a temporary Scalar from {Describe(callee)}"));
                }
                else if (callee.Module.Assembly == torch && scan.MakesTemporaryScalar(callee))
                    sites.Add(new(name, il[i].Offset, $"{Describe(callee)} makes a temporary Scalar inside TorchSharp"));
            }
        }
        return sites;
    }

    static string Describe(MethodBase m) =>
        $"{m.DeclaringType?.Name}.{m.Name}({string.Join(", ", m.GetParameters().Select(p => p.ParameterType.Name))})";

    static IEnumerable<Type> WithNested(Type type) => type.GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic)
        .SelectMany(WithNested).Prepend(type);

    static IEnumerable<MethodBase> MethodsOf(Type type)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                 BindingFlags.Static | BindingFlags.DeclaredOnly;
        return type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all));
    }

    /// <summary>A call that creates a Scalar: an implicit conversion, ToScalar, or the constructor.</summary>
    static bool MakesScalar(MethodBase callee) =>
        (callee is MethodInfo mi && mi.ReturnType == typeof(TorchSharp.Scalar) &&
         (callee.Name is "op_Implicit" or "ToScalar")) ||
        (callee is ConstructorInfo && callee.DeclaringType == typeof(TorchSharp.Scalar));

    /// <summary>
    /// A Scalar is held when it is stored in a field, or in a local that the method later disposes (a `using`).
    /// </summary>
    static bool IsHeld(MethodBase method, List<Instruction> il, int i)
    {
        if (i + 1 >= il.Count) return false;
        var next = il[i + 1];
        if (next.OpCode == OpCodes.Stfld || next.OpCode == OpCodes.Stsfld) return true;
        if (LocalStored(next) is not { } local) return false;
        for (int j = i + 2; j + 1 < il.Count; j++)
            if (LocalLoaded(il[j]) == local && il[j + 1].OpCode == OpCodes.Callvirt &&
                Resolve(method, il[j + 1].Operand) is { Name: "Dispose" }) return true;
        return false;
    }

    static int? LocalStored(Instruction x) =>
        x.OpCode.Value switch
        {
            0x0A => 0, 0x0B => 1, 0x0C => 2, 0x0D => 3,
            _ when x.OpCode == OpCodes.Stloc_S || x.OpCode == OpCodes.Stloc => x.Operand,
            _ => null,
        };

    static int? LocalLoaded(Instruction x) =>
        x.OpCode.Value switch
        {
            0x06 => 0, 0x07 => 1, 0x08 => 2, 0x09 => 3,
            _ when x.OpCode == OpCodes.Ldloc_S || x.OpCode == OpCodes.Ldloc => x.Operand,
            _ => null,
        };

    /// <summary>
    /// TorchSharp types the scanned code can hold: the declaring and return types of the TorchSharp members it calls.
    /// A virtual call is followed into these types' overrides (an optimizer's step, a module's forward).
    /// </summary>
    static HashSet<Type> TypesUsed(List<MethodBase> methods, Assembly torch)
    {
        var used = new HashSet<Type>();
        foreach (var method in methods)
            foreach (var x in Decode(method))
                if (IsCall(x.OpCode) && Resolve(method, x.Operand) is { } callee && callee.Module.Assembly == torch)
                {
                    if (callee.DeclaringType is { } declaring) used.Add(declaring);
                    if (callee is MethodInfo { ReturnType: var returned } && returned.Assembly == torch) used.Add(returned);
                }
        return used;
    }

    /// <summary>Which TorchSharp methods make a Scalar they do not keep, themselves or through TorchSharp calls.</summary>
    sealed class TorchScan(Assembly torch, HashSet<Type> used)
    {
        readonly Dictionary<MethodBase, bool> memo = [];

        public bool MakesTemporaryScalar(MethodBase method)
        {
            if (memo.TryGetValue(method, out bool known)) return known;
            memo[method] = false; // a cycle adds nothing new
            bool result = Implementations(method).Any(BodyMakesTemporaryScalar);
            return memo[method] = result;
        }

        bool BodyMakesTemporaryScalar(MethodBase method)
        {
            var il = Decode(method);
            for (int i = 0; i < il.Count; i++)
            {
                if (!IsCall(il[i].OpCode) || Resolve(method, il[i].Operand) is not { } callee) continue;
                if (MakesScalar(callee) ? !IsHeld(method, il, i) : callee.Module.Assembly == torch && MakesTemporaryScalar(callee))
                    return true;
            }
            return false;
        }

        // The method itself, and its overrides in the TorchSharp types the code uses.
        IEnumerable<MethodBase> Implementations(MethodBase method)
        {
            yield return method;
            if (method is not MethodInfo { IsVirtual: true, IsFinal: false } virtualMethod) yield break;
            var slot = virtualMethod.GetBaseDefinition();
            const BindingFlags instance = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
            foreach (var type in used)
                if (type != method.DeclaringType && method.DeclaringType!.IsAssignableFrom(type) &&
                    type.GetMethods(instance).FirstOrDefault(m => m.GetBaseDefinition() == slot) is { } implementation &&
                    implementation != method)
                    yield return implementation;
        }
    }

    // A delegate made from a method (ldftn) counts as a call of it: TorchSharp's optimizers run their update as a lambda.
    static bool IsCall(OpCode op) =>
        op == OpCodes.Call || op == OpCodes.Callvirt || op == OpCodes.Newobj || op == OpCodes.Ldftn || op == OpCodes.Ldvirtftn;

    static MethodBase? Resolve(MethodBase context, int token)
    {
        try
        {
            var typeArgs = context.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
            var methodArgs = context is MethodInfo { IsGenericMethod: true } g ? g.GetGenericArguments() : null;
            return context.Module.ResolveMethod(token, typeArgs, methodArgs);
        }
        catch (Exception e) when (e is ArgumentException or MissingMethodException or TypeLoadException or BadImageFormatException)
        {
            return null;
        }
    }

    static List<Instruction> Decode(MethodBase method)
    {
        var list = new List<Instruction>();
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is InvalidOperationException or NotSupportedException) { il = null; }
        if (il is null) return list;
        int pc = 0;
        while (pc < il.Length)
        {
            int start = pc;
            short value = il[pc++];
            if (value == 0xFE) value = unchecked((short)(0xFE00 | il[pc++]));
            var op = OpCodesByValue[value];
            int operand = 0;
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    operand = il[pc]; pc += 1; break;
                case OperandType.InlineVar: operand = BitConverter.ToUInt16(il, pc); pc += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: pc += 8; break;
                case OperandType.InlineSwitch: pc += 4 + 4 * BitConverter.ToInt32(il, pc); break;
                default: operand = BitConverter.ToInt32(il, pc); pc += 4; break;
            }
            list.Add(new(start, op, operand));
        }
        return list;
    }
}
